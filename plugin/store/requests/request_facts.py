"""What request analytics read: each request's few facts and three time indexes, kept by the inbox's own write.

A request document carries its message, metadata, form and every decision's payload; analytics over thousands of
requests needs only when it opened, ended and was due, its query, status, assignees and who decided. The inbox
write script (``plugin.store.inbox``) keeps these beside the document in the same script call, so they follow the
versioned-write rules exactly: a write that loses (an older version, a provisional one) changes nothing here
either, and a committed write that replaces a provisional one rewrites them.

Keys (prefix ``wf:inbox:a:``, so clearing the inbox clears them too):
- ``opened``: sorted set of every request id, scored by creation time (ms);
- ``ended``: ended requests (resolved, expired, cancelled), scored by when they ended (ms);
- ``due``: pending requests that have a due time, scored by it (ms): the overdue ones are a range read;
- ``facts``: hash, request id -> compact JSON ``{q, s, c, e, d, u, g, a}`` (query, status, created, ended, due
  (ms), users, groups, deciders).

The due time is :func:`due_of`: the request's ``due_at``, which an SLA policy sets from its business calendar
(``plugin.engine.sla``) and ``due_in_seconds`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from plugin.models import SLA_DECISION_VIA

KEY_PREFIX = "wf:inbox:a:"
OPENED, ENDED, DUE, FACTS = (f"{KEY_PREFIX}{name}" for name in ("opened", "ended", "due", "facts"))
_CHUNK = 2000

# Runs inside the inbox's write script, after the document is stored. ARGV[3] = creation score, ARGV[4] = request
# id, ARGV[6] = key prefix ('wf:'), ARGV[14] = end time in ms or '' (pending), ARGV[15] = due time in ms when the
# request is pending and has one, else '', ARGV[16] = the facts JSON.
INDEX_SCRIPT = """
local a = ARGV[6] .. 'inbox:a:'
redis.call('ZADD', a .. 'opened', ARGV[3], ARGV[4])
if ARGV[14] ~= '' then redis.call('ZADD', a .. 'ended', ARGV[14], ARGV[4])
else redis.call('ZREM', a .. 'ended', ARGV[4]) end
if ARGV[15] ~= '' then redis.call('ZADD', a .. 'due', ARGV[15], ARGV[4])
else redis.call('ZREM', a .. 'due', ARGV[4]) end
redis.call('HSET', a .. 'facts', ARGV[4], ARGV[16])
"""


def millis(iso: str | None) -> int | None:
    """An ISO 8601 time as epoch milliseconds (None stays None)."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000) if iso else None


def due_of(doc: dict[str, Any]) -> str | None:
    """The time by which the request should be decided: the one place that says where it is recorded."""
    return doc.get("due_at")


def index_args(doc: dict[str, Any]) -> list[str]:
    """ARGV[14..16] of the inbox write script for this request document."""
    pending = doc["status"] == "pending"
    ended = None if pending else millis(doc.get("resolved_at") or doc["created_at"])
    due = millis(due_of(doc))
    facts = {"q": doc.get("query"), "s": doc["status"], "c": millis(doc["created_at"]), "e": ended, "d": due,
             "u": [u.lower() for u in doc.get("users", [])], "g": list(doc.get("groups", [])),
             # a decision an SLA policy made at the due time is no person's: the request was resolved on due
             "a": sorted({d["actor"] for d in doc.get("decisions", [])
                          if d.get("actor") and d.get("via") != SLA_DECISION_VIA})}
    return ["" if ended is None else str(ended), str(due) if pending and due is not None else "",
            json.dumps(facts, separators=(",", ":"))]


@dataclass(slots=True)
class RequestFact:
    """One request as analytics sees it (times in epoch ms)."""

    id: str
    query: str
    status: str
    created: int
    ended: int | None
    due: int | None
    users: tuple[str, ...]
    groups: tuple[str, ...]
    deciders: tuple[str, ...]


@dataclass(slots=True)
class RangeIds:
    """The ids an answer reads: opened and ended in the range, and overdue now."""

    opened: list[str]
    ended: list[str]
    overdue: list[str]


class RequestFacts:
    """Reads the analytics indexes: the ids of a range (three range reads, one round trip), then their facts in
    chunks (one HMGET each). Plain reads, no script: a script that joined the replies cost Redis twice the CPU
    and saved the API process nothing measurable (docs/performance.md)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def ids(self, since_ms: int, until_ms: int, now_ms: int) -> RangeIds:
        """The requests opened and ended in [since, until), and the pending ones past due at ``now_ms``."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(OPENED, since_ms, f"({until_ms}")
            pipe.zrangebyscore(ENDED, since_ms, f"({until_ms}")
            pipe.zrangebyscore(DUE, "-inf", f"({now_ms}")
            opened, ended, overdue = ([_text(m) for m in members] for members in pipe.execute())
        return RangeIds(opened, ended, overdue)

    def facts(self, ids: Iterable[str]) -> Iterator[RequestFact]:
        """The facts of these requests (ids without any are skipped), read in chunks."""
        wanted = list(ids)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            for rid, raw in zip(chunk, self.redis.hmget(FACTS, chunk), strict=True):
                if raw:
                    yield _fact(rid, json.loads(raw))

    def fact(self, request_id: str) -> RequestFact | None:
        """One request's facts, or None."""
        raw = self.redis.hget(FACTS, request_id)
        return _fact(request_id, json.loads(raw)) if raw else None


def _fact(rid: str, f: dict[str, Any]) -> RequestFact:
    return RequestFact(id=rid, query=f["q"] or "", status=f["s"], created=f["c"], ended=f["e"], due=f["d"],
                       users=tuple(f["u"]), groups=tuple(f["g"]), deciders=tuple(f["a"]))


def _text(member: bytes | str) -> str:
    return member.decode() if isinstance(member, bytes) else member
