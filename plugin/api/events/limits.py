"""What keeps live event streams fair and short-lived: caps per user and per key, and a stream's key watched.

A process holds a bounded number of streams (each is a server thread); without caps of their own, one user
opening many streams took them all, and everyone else got 503. Each user (and each key) may hold only so many
streams at once, counted in Redis across every API process: a sorted set of open streams per user and per key,
each scored by when it ends at the latest, so the slots of a process that died free themselves.

An open stream also watches its key: once the key is revoked or past its ``expires_at``, the stream ends within
a few seconds (every stream of a process shares one check per key and interval).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis

from plugin.store.admin.keys import KeyStore

DEFAULT_PER_USER = 4
DEFAULT_PER_KEY = 500
SLOT_SLACK_SECONDS = 60.0
KEY_CHECK_SECONDS = 2.0

# KEYS[1] = wf:sse:user:{user}, KEYS[2] = wf:sse:key:{key}; ARGV = now, the slot's end, the slot's id, the user's
# cap, the key's cap. Drops ended slots, then takes one in both sets when both are under their caps.
# Answers 0 (taken), 1 (the user is at the cap) or 2 (the key is).
_TAKE = """
local now, ends = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, 2 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], ends, ARGV[3])
  redis.call('EXPIREAT', KEYS[i], math.ceil(ends))
end
return 0
"""


@dataclass(frozen=True)
class StreamSlot:
    """One open stream's place in its user's and its key's sets."""

    user_set: str
    key_set: str
    member: str


class StreamSlots:
    """Take and give back stream slots per user and per key (Redis, shared by every API process)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._take = client.register_script(_TAKE)

    def take(self, user: str, key_ref: str, seconds: float, per_user: int, per_key: int) -> StreamSlot | int:
        """A slot for a stream of at most ``seconds``, or 1 (the user is at the cap) or 2 (the key is)."""
        slot = StreamSlot(f"wf:sse:user:{user}", f"wf:sse:key:{key_ref}", uuid.uuid4().hex)
        now = time.time()
        refused = int(self._take(keys=[slot.user_set, slot.key_set],
                                 args=[now, now + seconds + SLOT_SLACK_SECONDS, slot.member, per_user, per_key]))
        return refused or slot

    def give_back(self, slot: StreamSlot) -> None:
        """Free the slot (the stream ended)."""
        with self._redis.pipeline() as pipe:
            pipe.zrem(slot.user_set, slot.member)
            pipe.zrem(slot.key_set, slot.member)
            pipe.execute()


class KeyWatch:
    """Whether stored keys are still valid (not revoked, not expired), checked at most once per interval and key
    for all the streams of a process."""

    def __init__(self, keys: KeyStore, every: float = KEY_CHECK_SECONDS) -> None:
        self._keys = keys
        self.every = every
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[bool, float]] = {}

    def valid(self, key_id: str) -> bool:
        """True while the key exists and has not expired (bootstrap keys, id "", always are)."""
        if not key_id:
            return True
        now = time.monotonic()
        with self._lock:
            known = self._seen.get(key_id)
            if known is not None and now - known[1] < self.every:
                return known[0]
        record = self._keys.record(key_id)
        expires = record.get("expires_at") if record else None
        valid = record is not None and (not expires or datetime.fromisoformat(expires).timestamp() > time.time())
        with self._lock:
            self._seen[key_id] = (valid, now)
        return valid

    def watcher(self, key_id: str) -> Callable[[], bool]:
        """A check for one stream's key."""
        return lambda: self.valid(key_id)
