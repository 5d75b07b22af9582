"""What keeps live event streams fair and short-lived: caps per user and per key, and a stream's key watched.

Shared by both stream servers (the events edge and the API's own ``GET /api/v1/events``). Without caps of their
own, one user opening many streams took every slot of a process and everyone else got 503. Each user (of a key)
and each key may hold only so many streams at once, counted in Redis across every process: a sorted set of open
streams per user and per key, each scored by when the stream ends at the latest (its longest life plus a slack),
so the slots of a process that died free themselves without any renewal traffic.

An open stream also watches its key: a revoke publishes ``key.revoked`` on the event stream (the stream servers
end that key's streams at once), and a check every few seconds catches what a message cannot: a key past its
``expires_at``, or a revoke while a server was not reading. The design follows the security branch's
``event_limits`` (issue 24 item 4), moved below the API so the edge can use it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import redis

from plugin.store import scripts
from plugin.store.admin.keys import KeyStore

SLOT_SLACK_SECONDS = 60.0
USER = 1  # answers of ``StreamSlots.take``: the user is at the cap
KEY = 2  # the key is

# KEYS[1] = wf:sse:user:{key}:{user}, KEYS[2] = wf:sse:key:{key}; ARGV = now, the slot's end, the slot's id, the
# user's cap, the key's cap. Drops ended slots, then takes one in both sets when both are under their caps.
# Answers 0 (taken), 1 (the user is at the cap) or 2 (the key is).
_TAKE = """
local now, ends = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, 2 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], ends, ARGV[3])
  if redis.call('TTL', KEYS[i]) < math.ceil(ends - now) then redis.call('EXPIREAT', KEYS[i], math.ceil(ends)) end
end
return 0
"""


@dataclass(frozen=True)
class StreamSlot:
    """One open stream's place in its user's and its key's sets."""

    user_set: str
    key_set: str
    member: str


def key_ref(key_id: str, key_name: str) -> str:
    """What a key's streams count against: its id, or the bootstrap key's name."""
    return key_id or f"bootstrap:{key_name}"


class StreamSlots:
    """Take and give back stream slots per user and per key (Redis, shared by every process)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._take = scripts.register(client, _TAKE)

    def take(self, user: str, key: str, seconds: float, per_user: int, per_key: int) -> StreamSlot | int:
        """A slot for a stream of at most ``seconds``, or ``USER`` (the user is at the cap) or ``KEY``."""
        slot = StreamSlot(f"wf:sse:user:{key}:{user or '-'}", f"wf:sse:key:{key}", uuid.uuid4().hex)
        now = time.time()
        refused = int(self._take(keys=[slot.user_set, slot.key_set],
                                 args=[now, now + seconds + SLOT_SLACK_SECONDS, slot.member, per_user, per_key]))
        return refused or slot

    def give_back(self, slots: Iterable[StreamSlot]) -> None:
        """Free the slots (their streams ended), in one round trip."""
        with self._redis.pipeline(transaction=False) as pipe:
            for slot in slots:
                pipe.zrem(slot.user_set, slot.member)
                pipe.zrem(slot.key_set, slot.member)
            pipe.execute()


def _valid(record: dict | None, now: float) -> bool:
    expires = record.get("expires_at") if record else None
    return record is not None and (not expires or datetime.fromisoformat(expires).timestamp() > now)


class KeyWatch:
    """Whether stored keys are still valid (not revoked, not expired), read at most once per interval and key
    for all the streams of a process."""

    def __init__(self, keys: KeyStore, every: float) -> None:
        self._keys = keys
        self.every = every
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[bool, float]] = {}

    def valid(self, key_id: str) -> bool:
        """True while the key exists and has not expired (bootstrap keys, id "", always are)."""
        return key_id not in self.ended([key_id])

    def ended(self, key_ids: Iterable[str]) -> set[str]:
        """The keys among ``key_ids`` that were revoked or have expired (those not read within the interval are
        read now, all in one round trip)."""
        now = time.monotonic()
        wanted = {k for k in key_ids if k}
        with self._lock:
            stale = [k for k in wanted if now - self._seen.get(k, (True, -self.every))[1] >= self.every]
        if stale:
            records = self._keys.records(stale)
            wall = time.time()
            with self._lock:
                for key_id, record in zip(stale, records, strict=True):
                    self._seen[key_id] = (_valid(record, wall), now)
        with self._lock:
            for gone in [k for k, (_, at) in self._seen.items() if now - at > 10 * self.every]:
                del self._seen[gone]
            return {k for k in wanted if not self._seen.get(k, (True, now))[0]}

    def forget(self, key_id: str) -> None:
        """Drop what is known of a key (a ``key.revoked`` message arrived: read it again next time)."""
        with self._lock:
            self._seen.pop(key_id, None)
