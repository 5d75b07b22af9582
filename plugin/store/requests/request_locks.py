"""Per-request locks: changes to one request go one at a time, across API processes.

Key (prefix ``wf:``): ``reqlock:{id}``, holding the holder's random token, with a short time to live that a
thread of the holder's process renews while the lock is held. A holder that dies (a killed gunicorn master
takes its workers with it) frees the lock within ``ttl_ms`` (3 s), not after the longest change could take.
Losing the lock early (Redis unreachable for a moment) is harmless: the lock only spares a crowd pressing
the same button from queueing updates on one run; Temporal's update validator still decides once.
Taking the lock also reads the request's inbox document in the same round trip: the caller checks it before
sending an update (a request the inbox shows settled is settled).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from plugin.store import scripts
from plugin.store.inbox import PREFIX

log = logging.getLogger(__name__)

# A Lua function (for this module's script and for scripts that join it to other work, e.g. admitting the
# request): KEYS[k + 1] = lock, KEYS[k + 2] = request hash; ARGV[a + 1] = token, ARGV[a + 2] = time to live (ms).
# Answers {1, the request's document or ''} when taken, {0, ''} when another holds it.
ACQUIRE_FUNCTION = """
local function acquire_lock(k, a)
  if redis.call('SET', KEYS[k + 1], ARGV[a + 1], 'NX', 'PX', ARGV[a + 2]) then
    return {1, redis.call('HGET', KEYS[k + 2], 'doc') or ''}
  end
  return {0, ''}
end
"""
_ACQUIRE = ACQUIRE_FUNCTION + "return acquire_lock(0, 0)\n"
# What a try to take a lock answers: ``ACQUIRE_FUNCTION``'s answer, given the lock's KEYS and ARGV.
FirstTry = Callable[[list[str], list[Any]], list[Any]]
# KEYS[1] = lock. ARGV[1] = token: only the holder frees it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS = locks held by this process. ARGV[1] = time to live (ms), ARGV[1 + i] = the token of KEYS[i]: each lock
# still held with that token lives another time to live.
_RENEW = """
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0
"""


class _Renewer:
    """One daemon thread per process renewing every lock the process holds, a third of the TTL apart."""

    def __init__(self, renew: Any, ttl_ms: int) -> None:
        self._renew = renew
        self._ttl_ms = ttl_ms
        self._held: dict[str, str] = {}
        self._guard = threading.Lock()
        self._pid: int | None = None  # a forked child starts its own thread (threads do not survive a fork)

    def hold(self, key: str, token: str) -> None:
        with self._guard:
            if self._pid != os.getpid():
                self._pid, self._held = os.getpid(), {}
                threading.Thread(target=self._run, name="request-lock-renewer", daemon=True).start()
            self._held[key] = token

    def drop(self, key: str, token: str) -> None:
        with self._guard:
            if self._held.get(key) == token:
                del self._held[key]

    def _run(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            time.sleep(self._ttl_ms / 3000)
            with self._guard:
                held = list(self._held.items())
            if not held:
                continue
            try:
                self._renew(keys=[key for key, _ in held], args=[self._ttl_ms, *(token for _, token in held)])
            except redis.RedisError as exc:  # the locks may lapse meanwhile: Temporal still decides once
                log.warning("renewing %d request locks failed: %s", len(held), exc)


class RequestLocks:
    """Take and free the lock of one request."""

    def __init__(self, client: redis.Redis, ttl_ms: int = 3_000, poll: float = 0.005) -> None:
        self._acquire = scripts.register(client, _ACQUIRE)
        self._release = scripts.register(client, _RELEASE)
        self._renewer = _Renewer(scripts.register(client, _RENEW), ttl_ms)
        self._ttl_ms = ttl_ms
        self._poll = poll

    @staticmethod
    def _keys(request_id: str) -> list[str]:
        return [f"{PREFIX}reqlock:{request_id}", f"{PREFIX}req:{request_id}"]

    def acquire(self, request_id: str, wait: float,
                first_try: FirstTry | None = None) -> tuple[str | None, dict[str, Any] | None]:
        """Take the lock, waiting up to ``wait`` seconds: the holder's token (None when it was not free in time)
        and the request's inbox document as it is once the lock is held (None when the inbox lacks it).
        The lock is renewed until it is released. ``first_try`` makes the first try instead of this module's
        script (a script joining ``ACQUIRE_FUNCTION`` to other work); it may raise, and then no lock is held."""
        token = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        keys, args = self._keys(request_id), [token, self._ttl_ms]
        while True:
            if first_try is not None:
                held, doc = first_try(keys, args)
                first_try = None
            else:
                held, doc = self._acquire(keys=keys, args=args)
            if held:
                self._renewer.hold(self._keys(request_id)[0], token)
                return token, json.loads(doc) if doc else None
            if time.monotonic() >= deadline:
                return None, None
            time.sleep(self._poll)

    def release(self, request_id: str, token: str) -> None:
        """Free the lock if this token still holds it (it may have expired meanwhile)."""
        self.release_call(request_id, token)()

    def release_call(self, request_id: str, token: str) -> scripts.Call:
        """Stop renewing the lock now; the call that frees it (``release``), to make with others in one round trip
        (``scripts.run_in_one_trip``)."""
        self._renewer.drop(self._keys(request_id)[0], token)
        return scripts.Call(self._release, self._keys(request_id)[:1], [token])
