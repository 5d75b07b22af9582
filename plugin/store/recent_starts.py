"""The API's own record of the runs it started lately, so run history lists a run whose trigger was answered
before the listing began (read-your-writes), although Temporal's visibility trails the truth by a second or
more (seen: 25 of 120 runs triggered at once missing from a listing right after).

Keys (prefix ``wf:``):
- ``recent_starts``: sorted set of run ids, scored by the API's clock in microseconds when it recorded the start
  (after Temporal started the run, before the trigger is answered);
- ``recent_starts:docs``: hash run id -> the run's list entry at its start (JSON, as run history shows it).
Entries older than ``RETENTION_SECONDS`` (and beyond ``MAX_KEPT``) are dropped as new ones are written: by
then visibility has them. ``gateway_ops.listing`` merges them into its first phase.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from plugin import finite_json
from plugin.store import scripts
from plugin.store.inbox import PREFIX

RETENTION_SECONDS = 600
MAX_KEPT = 50_000
_SET, _DOCS = f"{PREFIX}recent_starts", f"{PREFIX}recent_starts:docs"

# KEYS[1] = the sorted set, KEYS[2] = the docs hash. ARGV = at (µs), id, doc, oldest kept (µs), most kept.
_RECORD = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4], 'LIMIT', 0, 100)
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if extra > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, math.min(extra, 100) - 1)) do table.insert(old, id) end
end
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return #old
"""
# KEYS as above. ARGV = after (µs, excluded), up to (µs, included), snapshot key prefix. Answers a flat list:
# id, at, doc, the run snapshot's status ('' without one), ...
_BETWEEN = """
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], ARGV[2], 'WITHSCORES')) do
  table.insert(out, id)
end
local rows = {}
for i = 1, #out, 2 do
  local id = out[i]
  local doc = redis.call('HGET', KEYS[2], id)
  if doc then
    local snap = redis.call('HGET', ARGV[3] .. 'run:' .. id, 'doc')
    local status = ''
    if snap then status = cjson.decode(snap)['status'] or '' end
    table.insert(rows, id)
    table.insert(rows, out[i + 1])
    table.insert(rows, doc)
    table.insert(rows, status)
  end
end
return rows
"""


@dataclass(frozen=True)
class RecentStart:
    """A run the API started: when it was recorded (ns) and its list entry."""

    id: str
    at_ns: int
    item: dict[str, Any]


def now_ns() -> int:
    """The clock recent starts are kept by (nanoseconds since the epoch)."""
    return time.time_ns()


class RecentStarts:
    """Record the runs the API starts, and read those of a time range."""

    def __init__(self, client: redis.Redis) -> None:
        self._record = scripts.register(client, _RECORD)
        self._between = scripts.register(client, _BETWEEN)

    def record(self, at_ns: int, item: dict[str, Any]) -> None:
        """Keep a run the API has just started (``item``: its list entry, with ``id``)."""
        at_us = at_ns // 1000
        self._record(keys=[_SET, _DOCS], args=[at_us, item["id"], finite_json.dumps(item, separators=(",", ":")),
                                               at_us - RETENTION_SECONDS * 1_000_000, MAX_KEPT])

    def between(self, after_ns: int, upto_ns: int) -> list[RecentStart]:
        """The runs started after ``after_ns`` and at or before ``upto_ns``; the entry's status is the run
        snapshot's when the worker has written one."""
        raw = self._between(keys=[_SET, _DOCS], args=[after_ns // 1000, upto_ns // 1000, PREFIX])
        found = []
        for i in range(0, len(raw), 4):
            item = json.loads(raw[i + 2])
            status = raw[i + 3].decode() if isinstance(raw[i + 3], bytes) else str(raw[i + 3])
            if status:
                item["status"] = status
            found.append(RecentStart(id=item["id"], at_ns=int(float(raw[i + 1])) * 1000, item=item))
        return found
