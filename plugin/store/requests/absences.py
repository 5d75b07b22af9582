"""Out-of-office absences: who is away from when to when, and who decides for them meanwhile.

An absence is a person's own setting (written by the API), not part of any run, so it lives in Redis and
never in Temporal: the workflow cannot read it, and the API vouches for it when a delegate decides
(``ResolveInput.acting_for``, signed with the update).

Keys (prefix ``wf:``):
- ``absence:{user}``: the absence as JSON (``user``, ``from``, ``to``, ``delegate``, ``queries``, ``set_by``,
  ``set_at``, and ``from_ms`` / ``to_ms``), expiring ``KEEP_ENDED_MS`` after it ends;
- ``absence:for:{delegate}``: sorted set of the users who delegate to this person, scored by their end (ms);
- ``absences``: sorted set of every user with an absence, scored by its end (the admins' list).
One hop: a delegate may not be away themselves during the absence (refused in the write script, so two people
cannot name each other at once), and a delegate is offered only the absent person's own requests.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from plugin.store import scripts

PREFIX = "wf:"
KEEP_ENDED_MS = 7 * 24 * 3600 * 1000

# KEYS[1] = absence:{user}, KEYS[2] = absence:{delegate}, KEYS[3] = absence:for:{delegate}, KEYS[4] = absences.
# ARGV = user, doc (JSON), from_ms, to_ms, expire_at_ms, prefix. Refuses ({'away', doc}) when the delegate is away
# themselves in that period; otherwise replaces the user's absence (leaving the old delegate's index).
_PUT = """
local theirs = redis.call('GET', KEYS[2])
if theirs then
  local d = cjson.decode(theirs)
  if tonumber(d['from_ms']) < tonumber(ARGV[4]) and tonumber(ARGV[3]) < tonumber(d['to_ms']) then
    return {'away', theirs}
  end
end
local old = redis.call('GET', KEYS[1])
if old then
  redis.call('ZREM', ARGV[6] .. 'absence:for:' .. cjson.decode(old)['delegate'], ARGV[1])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return {'ok', ARGV[2]}
"""
# KEYS[1] = absence:{user}, KEYS[2] = absences. ARGV = user, prefix. Returns the removed absence or false.
_DELETE = """
local old = redis.call('GET', KEYS[1])
if not old then return false end
redis.call('ZREM', ARGV[2] .. 'absence:for:' .. cjson.decode(old)['delegate'], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return old
"""
# ``for_delegate(k, delegate, now_ms, prefix)``: KEYS[k] = absence:for:{delegate}. The absences naming this delegate
# that have not ended (those that have are dropped from the index); the caller keeps those already begun. A
# function, so a read that needs them too (an inbox page) makes one call.
FOR_DELEGATE_FUNCTION = """
local function for_delegate(k, delegate, now_ms, prefix)
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', now_ms)
  local out = {}
  for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], '(' .. now_ms, '+inf')) do
    local doc = redis.call('GET', prefix .. 'absence:' .. user)
    if doc and cjson.decode(doc)['delegate'] == delegate then table.insert(out, doc) end
  end
  return out
end
"""
# KEYS[1] = absence:for:{delegate}. ARGV = delegate, now (ms), prefix.
_FOR_DELEGATE = FOR_DELEGATE_FUNCTION + "return for_delegate(1, ARGV[1], ARGV[2], ARGV[3])\n"


@dataclass(frozen=True)
class Absence:
    """One person's absence: from ``starts`` (inclusive) to ``ends`` (exclusive), ISO 8601 with offsets."""

    user: str
    starts: str
    ends: str
    delegate: str
    from_ms: int
    to_ms: int
    queries: tuple[str, ...] = ()
    set_by: str = ""
    set_at: str = ""
    note: str = ""

    def active(self, now_ms: int | None = None) -> bool:
        """True while the absence lasts (an absence set for the future is not active yet)."""
        now_ms = _now_ms() if now_ms is None else now_ms
        return self.from_ms <= now_ms < self.to_ms

    def covers(self, query: str) -> bool:
        """True when requests of this query go to the delegate (no queries named: every query)."""
        return not self.queries or query in self.queries

    def to_doc(self) -> dict[str, Any]:
        """The stored and answered shape (``active`` as of now)."""
        return {"user": self.user, "from": self.starts, "to": self.ends, "delegate": self.delegate,
                "queries": list(self.queries), "note": self.note, "set_by": self.set_by, "set_at": self.set_at,
                "from_ms": self.from_ms, "to_ms": self.to_ms, "active": self.active()}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Absence:
        """The absence a stored document holds."""
        return cls(user=doc["user"], starts=doc["from"], ends=doc["to"], delegate=doc["delegate"],
                   from_ms=int(doc["from_ms"]), to_ms=int(doc["to_ms"]), queries=tuple(doc.get("queries", ())),
                   set_by=doc.get("set_by", ""), set_at=doc.get("set_at", ""), note=doc.get("note", ""))


class DelegateAway(Exception):
    """The chosen delegate is away themselves during the absence (one hop only)."""

    def __init__(self, theirs: Absence) -> None:
        super().__init__(theirs.user)
        self.theirs = theirs


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Absences:
    """Read and write absences."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._put = scripts.register(client, _PUT)
        self._delete = scripts.register(client, _DELETE)
        self._for_delegate = scripts.register(client, _FOR_DELEGATE)

    def put(self, absence: Absence) -> Absence:
        """Set (or replace) the user's absence; DelegateAway when the delegate is away in that period."""
        doc = {k: v for k, v in absence.to_doc().items() if k != "active"}
        status, stored = self._put(
            keys=[f"{PREFIX}absence:{absence.user}", f"{PREFIX}absence:{absence.delegate}",
                  f"{PREFIX}absence:for:{absence.delegate}", f"{PREFIX}absences"],
            args=[absence.user, json.dumps(doc, separators=(",", ":")), absence.from_ms, absence.to_ms,
                  absence.to_ms + KEEP_ENDED_MS, PREFIX])
        if _text(status) == "away":
            raise DelegateAway(Absence.from_doc(json.loads(stored)))
        return absence

    def get(self, user: str) -> Absence | None:
        """The user's absence (current, coming or lately ended), or None."""
        raw = self.redis.get(f"{PREFIX}absence:{user.lower()}")
        return Absence.from_doc(json.loads(raw)) if raw else None

    def delete(self, user: str) -> Absence | None:
        """End (remove) the user's absence; the removed one, or None when there was none."""
        raw = self._delete(keys=[f"{PREFIX}absence:{user.lower()}", f"{PREFIX}absences"], args=[user.lower(), PREFIX])
        return Absence.from_doc(json.loads(raw)) if raw else None

    def active_for_delegate(self, delegate: str, now_ms: int | None = None) -> list[Absence]:
        """The absences that make this person a delegate right now."""
        now_ms = _now_ms() if now_ms is None else now_ms
        keys, args = self.for_delegate_keys_and_args(delegate, now_ms)
        return self.active_among(self._for_delegate(keys=keys, args=args), now_ms)

    @staticmethod
    def for_delegate_keys_and_args(delegate: str, now_ms: int) -> tuple[list[str], list[str | int]]:
        """The KEYS and ARGV of ``for_delegate`` (``FOR_DELEGATE_FUNCTION``) for this delegate at ``now_ms``."""
        return [f"{PREFIX}absence:for:{delegate.lower()}"], [delegate.lower(), now_ms, PREFIX]

    @staticmethod
    def active_among(raws: list[Any], now_ms: int) -> list[Absence]:
        """The absences ``for_delegate`` answered that are active at ``now_ms``, by user."""
        found = [Absence.from_doc(json.loads(raw)) for raw in raws]
        return sorted((a for a in found if a.active(now_ms)), key=lambda a: a.user)

    def active_of(self, users: list[str], now_ms: int | None = None) -> list[Absence]:
        """The active absences of these users (for notifications)."""
        if not users:
            return []
        now_ms = _now_ms() if now_ms is None else now_ms
        raws = self.redis.mget([f"{PREFIX}absence:{u.lower()}" for u in users])
        return [a for a in (Absence.from_doc(json.loads(r)) for r in raws if r) if a.active(now_ms)]

    def all(self, limit: int = 1000) -> list[Absence]:
        """Every stored absence, soonest ending first (at most ``limit``); ended ones are kept a week."""
        users = [_text(u) for u in self.redis.zrangebyscore(f"{PREFIX}absences", _now_ms() - KEEP_ENDED_MS, "+inf",
                                                             start=0, num=limit)]
        if not users:
            return []
        raws = self.redis.mget([f"{PREFIX}absence:{u}" for u in users])
        return [Absence.from_doc(json.loads(r)) for r in raws if r]
