"""Per-request locks: changes to one request go one at a time, across API processes.

Key (prefix ``wf:``): ``reqlock:{id}``, holding the holder's random token, with a time to live so a holder
that dies frees it. Taking the lock also reads the request's inbox document in the same round trip: the
caller checks it before sending an update (a request the inbox shows settled is settled).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import redis

from plugin.store.inbox import PREFIX

# KEYS[1] = lock, KEYS[2] = request hash. ARGV = token, time to live (ms).
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('HGET', KEYS[2], 'doc') or ''}
end
return {0, ''}
"""
# KEYS[1] = lock. ARGV[1] = token: only the holder frees it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RequestLocks:
    """Take and free the lock of one request."""

    def __init__(self, client: redis.Redis, ttl_ms: int = 30_000, poll: float = 0.005) -> None:
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._ttl_ms = ttl_ms
        self._poll = poll

    @staticmethod
    def _keys(request_id: str) -> list[str]:
        return [f"{PREFIX}reqlock:{request_id}", f"{PREFIX}req:{request_id}"]

    def acquire(self, request_id: str, wait: float) -> tuple[str | None, dict[str, Any] | None]:
        """Take the lock, waiting up to ``wait`` seconds: the holder's token (None when it was not free in time)
        and the request's inbox document as it is once the lock is held (None when the inbox lacks it)."""
        token = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        while True:
            held, doc = self._acquire(keys=self._keys(request_id), args=[token, self._ttl_ms])
            if held:
                return token, json.loads(doc) if doc else None
            if time.monotonic() >= deadline:
                return None, None
            time.sleep(self._poll)

    def release(self, request_id: str, token: str) -> None:
        """Free the lock if this token still holds it (it may have expired meanwhile)."""
        self._release(keys=self._keys(request_id)[:1], args=[token])
