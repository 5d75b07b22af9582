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

The due time is :func:`due_of`: today the request's ``due_at``; an SLA policy that records its own due time on
the request plugs in there, and every write after that indexes by it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

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
             "a": sorted({d["actor"] for d in doc.get("decisions", []) if d.get("actor")})}
    return ["" if ended is None else str(ended), str(due) if pending and due is not None else "",
            json.dumps(facts, separators=(",", ":"))]


@dataclass(frozen=True)
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


# KEYS[1] = an analytics index (sorted set), KEYS[2] = the facts hash. ARGV[1] = min score, ARGV[2] = max score (with
# '(' when exclusive), ARGV[3] = how many to skip (ids at the min score already read), ARGV[4] = at most this many.
# Returns {how many ids, the last one's score, how many of the page have that score, one JSON text
# '[["id",{facts}],...]'}: one reply element per page instead of two per request (reading a reply is what costs).
_PAGE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES', 'LIMIT', tonumber(ARGV[3]),
                       tonumber(ARGV[4]))
local parts, last, same = {}, '', 0
for i = 1, #ids, 2 do
  local f = redis.call('HGET', KEYS[2], ids[i])
  if f then parts[#parts + 1] = '[' .. cjson.encode(ids[i]) .. ',' .. f .. ']' end
  if ids[i + 1] == last then same = same + 1 else last, same = ids[i + 1], 1 end
end
return {#ids / 2, last, same, '[' .. table.concat(parts, ',') .. ']'}
"""


class RequestFacts:
    """Reads the analytics indexes, a page of facts per script call (Redis is held at most one page at a time)."""

    def __init__(self, client: redis.Redis, page: int = _CHUNK) -> None:
        self.redis = client
        self.page = page
        self._page = client.register_script(_PAGE)

    def opened_between(self, since_ms: int, until_ms: int) -> dict[str, RequestFact]:
        """The requests opened in [since, until), by id."""
        return self._facts(OPENED, str(since_ms), f"({until_ms}")

    def ended_between(self, since_ms: int, until_ms: int) -> dict[str, RequestFact]:
        """The requests that ended in [since, until), by id."""
        return self._facts(ENDED, str(since_ms), f"({until_ms}")

    def overdue(self, now_ms: int) -> dict[str, RequestFact]:
        """The pending requests whose due time is before ``now_ms``, by id."""
        return self._facts(DUE, "-inf", f"({now_ms}")

    def fact(self, request_id: str) -> RequestFact | None:
        """One request's facts, or None."""
        raw = self.redis.hget(FACTS, request_id)
        return _fact(request_id, json.loads(raw)) if raw else None

    def _facts(self, index: str, low: str, high: str) -> dict[str, RequestFact]:
        found: dict[str, RequestFact] = {}
        skip = 0
        while True:
            count, last, same, text = self._page(keys=[index, FACTS], args=[low, high, skip, self.page])
            found.update((rid, _fact(rid, f)) for rid, f in json.loads(text))
            if int(count) < self.page:
                return found
            last = _text(last)
            # the next page starts at the last score read, past the ids already read there (members of one score
            # are ordered by id); a page that is all one score moves on by its length
            skip = skip + int(count) if float(last) == float(low.lstrip("(")) else int(same)
            low = last


def _fact(rid: str, f: dict[str, Any]) -> RequestFact:
    return RequestFact(id=rid, query=f["q"] or "", status=f["s"], created=f["c"], ended=f["e"], due=f["d"],
                       users=tuple(f["u"]), groups=tuple(f["g"]), deciders=tuple(f["a"]))


def _text(member: bytes | str) -> str:
    return member.decode() if isinstance(member, bytes) else member
