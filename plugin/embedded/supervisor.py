"""``up`` as a supervisor: a child that dies (worker, API, Temporal dev server, Redis) is started again the same
way, on the same data, after a growing pause, while the others keep running; ``up`` gives up (and stops
everything) only when one child keeps dying soon after each start.

While a child is down, a mark in Redis tells ``/readyz`` (a dead worker would otherwise still look like a
poller to Temporal for a minute or more).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import redis

from plugin.embedded.processes import ManagedProcess, StartupError
from plugin.store import health_marks

# Pause before the n-th restart in a row of one child.
RESTART_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# A child that dies sooner than this after it started counts as a fast failure; one that lived longer starts
# the count again.
FAST_FAILURE_SECONDS = 30.0
MAX_FAST_FAILURES = 5
# How long a restarted child has to answer its check before it counts as failed again.
READY_TIMEOUT = 90.0
POLL_SECONDS = 0.2


@dataclass
class Recipe:
    """How to start a child again (the same binary, arguments and data) and tell when it is back."""

    part: str  # what /readyz calls it: temporal, redis, worker, api
    launch: Callable[[], ManagedProcess]
    ready: Callable[[ManagedProcess], bool] = lambda _proc: True


@dataclass
class _Watch:
    started: float = field(default_factory=time.monotonic)
    failures: int = 0
    waiting_since: float | None = None  # restarted, not answering its check yet


class Supervised(Protocol):
    """What the supervisor needs of ``up``'s stack."""

    children: list[ManagedProcess]
    recipes: dict[str, Recipe]
    out: TextIO

    def say(self, line: str) -> None: ...
    def stop(self) -> None: ...
    def redis_url(self) -> str: ...


class Supervisor:
    """Watch the stack's children until a signal; returns ``up``'s exit code."""

    def __init__(self, stack: Supervised) -> None:
        self.stack = stack
        self.watches = {c.name: _Watch() for c in stack.children}
        self._received: list[int] = []

    def watch(self) -> int:
        """Restart dead children until SIGINT/SIGTERM (exit 0) or a child keeps failing (exit 1)."""
        def on_signal(signum: int, _frame: object) -> None:
            self._received.append(signum)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not self._received:
            for index, child in enumerate(list(self.stack.children)):
                if self._received:
                    break
                if child.alive():
                    self._check_back(child)
                elif not self._restart(index, child):
                    self.stack.stop()
                    return 1
            self._sleep(POLL_SECONDS)
        self.stack.say(f"Received {signal.Signals(self._received[0]).name}: stopping ...")
        self.stack.stop()
        self.stack.say("Stopped.")
        return 0

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._received and time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def _check_back(self, child: ManagedProcess) -> None:
        watch = self.watches[child.name]
        if watch.waiting_since is None:
            if watch.failures and time.monotonic() - watch.started > FAST_FAILURE_SECONDS:
                watch.failures = 0  # it stayed up: the next death starts the count again
            return
        recipe = self.stack.recipes[child.name]
        try:
            back = recipe.ready(child)
        except Exception:  # not answering yet
            back = False
        if back:
            self.stack.say(f"  {child.name} is back ({time.monotonic() - watch.waiting_since:.1f}s after it died)")
            watch.waiting_since = None
            self._mark(recipe.part, None)
        elif time.monotonic() - watch.started > READY_TIMEOUT:
            self.stack.say(f"  {child.name} did not answer within {READY_TIMEOUT:g}s of its restart; stopping it")
            child.stop()  # seen as dead on the next round: restarted or given up on

    def _restart(self, index: int, child: ManagedProcess) -> bool:
        """Start the dead child again after its pause; False when it keeps failing (give up)."""
        watch = self.watches[child.name]
        recipe = self.stack.recipes[child.name]
        died_at = time.monotonic()
        fast = died_at - watch.started < FAST_FAILURE_SECONDS
        watch.failures = watch.failures + 1 if fast or watch.waiting_since is not None else 1
        code = child.proc.returncode
        child.stop()  # reaps it and closes its log
        if watch.failures > MAX_FAST_FAILURES:
            self.stack.say(f"{child.name} died {MAX_FAST_FAILURES + 1} times in a row, each within "
                           f"{FAST_FAILURE_SECONDS:g}s of starting (last exit code {code}); see {child.log_path}. "
                           "Giving up: stopping everything.")
            return False
        delay = RESTART_DELAYS[min(watch.failures, len(RESTART_DELAYS)) - 1]
        self.stack.say(f"{child.name} exited with code {code}; restarting it in {delay:g}s (restart "
                       f"{watch.failures} of at most {MAX_FAST_FAILURES} in a row); see {child.log_path}")
        self._mark(recipe.part, f"restarting after exit code {code}")
        self._sleep(delay)
        if self._received:
            return True
        try:
            replacement = recipe.launch()
        except StartupError as exc:  # e.g. its port is still taken: counts as another failure
            self.stack.say(f"  {child.name} could not be started again: {exc.message}")
            self.stack.children[index] = child
            watch.started = time.monotonic()
            watch.waiting_since = watch.waiting_since or died_at
            return True
        self.stack.children[index] = replacement
        watch.started = time.monotonic()
        watch.waiting_since = watch.waiting_since or died_at
        return True

    def _mark(self, part: str, why: str | None) -> None:
        """Tell /readyz (through Redis) that a part is down, or back; Redis itself may be the one down."""
        try:
            client = redis.Redis.from_url(self.stack.redis_url(), socket_timeout=1, socket_connect_timeout=1)
            try:
                if why is None:
                    health_marks.clear(client, part)
                else:
                    health_marks.mark_down(client, part, why)
            finally:
                client.close()
        except redis.RedisError:
            pass
