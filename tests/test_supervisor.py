"""The supervisor `up` runs: a dead child is started again after a pause while the others keep running; one
that keeps dying right after it starts makes `up` give up and stop everything."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from plugin.embedded import supervisor
from plugin.embedded.processes import ManagedProcess, spawn
from plugin.embedded.supervisor import Recipe, Supervisor


class FakeStack:
    def __init__(self, recipes: list[Recipe]) -> None:
        self.out = io.StringIO()
        self.recipes: dict[str, Recipe] = {}
        self.children: list[ManagedProcess] = []
        for recipe in recipes:
            proc = recipe.launch()
            self.recipes[proc.name] = recipe
            self.children.append(proc)
        self.stopped = False

    def say(self, line: str) -> None:
        self.out.write(line + "\n")

    def stop(self) -> None:
        self.stopped = True
        for child in self.children:
            child.stop()

    def redis_url(self) -> str:
        return "redis://127.0.0.1:1/0"  # nothing there: marks are best effort


def child(name: str, code: str, logs: Path) -> Recipe:
    return Recipe("worker", lambda: spawn(name, [sys.executable, "-c", code], logs / f"{name}.log"))


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(supervisor, "RESTART_DELAYS", (0.05, 0.1, 0.2))
    monkeypatch.setattr(supervisor, "POLL_SECONDS", 0.02)


def test_a_dead_child_is_restarted_and_the_others_keep_running(tmp_path: Path):
    stack = FakeStack([child("Steady", "import time; time.sleep(60)", tmp_path),
                       child("Flaky", "import time; time.sleep(60)", tmp_path)])
    steady_pid, flaky_pid = stack.children[0].proc.pid, stack.children[1].proc.pid
    sup = Supervisor(stack)

    def killer() -> None:  # the supervisor installs signal handlers, so it runs in the main thread
        time.sleep(0.3)
        os.kill(flaky_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and stack.children[1].proc.pid == flaky_pid:
            time.sleep(0.02)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=killer, daemon=True).start()
    try:
        assert sup.watch() == 0
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    out = stack.out.getvalue()
    assert "Flaky exited with code -9; restarting it in 0.05s" in out
    assert "Flaky is back" in out
    assert stack.children[0].proc.pid == steady_pid, "the steady child was left alone"
    assert stack.children[1].proc.pid != flaky_pid


def test_a_child_that_keeps_dying_at_once_makes_up_give_up(tmp_path: Path):
    stack = FakeStack([child("Steady", "import time; time.sleep(60)", tmp_path),
                       child("Broken", "import sys; sys.exit(3)", tmp_path)])
    started = time.monotonic()
    try:
        assert Supervisor(stack).watch() == 1
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    out = stack.out.getvalue()
    assert out.count("Broken exited with code 3; restarting it") == supervisor.MAX_FAST_FAILURES
    assert "Giving up: stopping everything." in out
    assert stack.stopped and not stack.children[0].alive()
    assert time.monotonic() - started < 10
