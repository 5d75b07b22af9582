"""The inbox read model: requests by assignee and status, in Redis, rebuildable from Temporal.

Keys (prefix ``wf:``):
- ``req:{id}``: hash with ``version`` and ``doc`` (the request as JSON);
- ``inbox:{status}:u:{email}`` and ``inbox:{status}:g:{group}``: sorted sets of request ids, scored by
  creation time in milliseconds, one per assignee per status.
A write carries the request's version and is ignored when Redis already holds a newer one, so the worker's
activity and the API (which writes after a resolve, for read-your-writes) can race safely.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from plugin import finite_json
from plugin.models import CANCELLED, PENDING, HumanRequest, Identity
from plugin.store import scripts
from plugin.store.events import EVENT_KEYS, PUBLISH_FUNCTION, EventStream
from plugin.store.requests import request_facts

PREFIX = "wf:"
PENDING_BY_QUERY = "pending_by_query:"

# KEYS[1] = request hash, KEYS[2..3] = the event stream's keys. ARGV = version, doc, score, id, status, prefix, query,
# provisional ('1' or '0'), the request's event (ARGV[9..13], published when this version is stored, before anything
# is written), the analytics index arguments (ARGV[14..16], store.requests.request_facts), then the index keys for
# the new state. ``pending_by_query:{query}`` sets hold the pending ids per query (for the metrics). A provisional
# write (made before its workflow task committed) never beats a stored version; a committed write of the same version
# replaces a provisional one (returns 2 when it was the same document).
_PUT = PUBLISH_FUNCTION + """
local cur = redis.call('HMGET', KEYS[1], 'version', 'provisional', 'doc')
if cur[1] and tonumber(cur[1]) >= tonumber(ARGV[1]) then
  if tonumber(cur[1]) == tonumber(ARGV[1]) and cur[2] == '1' and ARGV[8] == '0' then
    if cur[3] == ARGV[2] then
      redis.call('HSET', KEYS[1], 'provisional', '0')
      return 2
    end
  else
    -- the same version again (the worker's rebuild at start-up): fill in the per-query set of older inboxes
    if tonumber(cur[1]) == tonumber(ARGV[1]) and ARGV[5] == 'pending' then
      redis.call('SADD', ARGV[6] .. 'pending_by_query:' .. ARGV[7], ARGV[4])
    end
    -- and the analytics facts of requests stored before they were kept (same version, same document)
    if tonumber(cur[1]) == tonumber(ARGV[1]) and cur[3] == ARGV[2] then """ + request_facts.INDEX_SCRIPT + """ end
    return 0
  end
end
-- Out of office: the delegates of absent assignees see the event too while the absence lasts (store.requests.absences).
local clock, audience, extra = redis.call('TIME'), cjson.decode(ARGV[12]), false
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for _, u in ipairs(cjson.decode(ARGV[2])['users']) do
  local away = redis.call('GET', ARGV[6] .. 'absence:' .. u)
  if away then
    away = cjson.decode(away)
    if tonumber(away['from_ms']) <= now and now < tonumber(away['to_ms']) then
      table.insert(audience, away['delegate'])
      extra = true
    end
  end
end
if extra then ARGV[12] = cjson.encode(audience) end
publish(KEYS[2], KEYS[3], 9)
local old = cur[3]
if old then
  local prev = cjson.decode(old)
  local base = ARGV[6] .. 'inbox:' .. prev['status']
  for _, u in ipairs(prev['users']) do redis.call('ZREM', base .. ':u:' .. u, ARGV[4]) end
  for _, g in ipairs(prev['groups']) do redis.call('ZREM', base .. ':g:' .. g, ARGV[4]) end
  redis.call('SREM', ARGV[6] .. 'pending_by_query:' .. tostring(prev['query']), ARGV[4])
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'doc', ARGV[2], 'provisional', ARGV[8])
if ARGV[5] == 'pending' then redis.call('SADD', ARGV[6] .. 'pending_by_query:' .. ARGV[7], ARGV[4]) end
""" + request_facts.INDEX_SCRIPT + """
for i = 17, #ARGV do redis.call('ZADD', ARGV[i], ARGV[3], ARGV[4]) end
return 1
"""


def closed_out(doc: dict[str, Any], at: str | None) -> dict[str, Any]:
    """The next version of a pending request that no run can settle any more: cancelled."""
    return {**doc, "status": CANCELLED, "resolved_at": at, "version": doc["version"] + 1}


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@dataclass(frozen=True)
class InboxPage:
    """One page of requests, as the stored JSON documents, and the cursor for the next page (None at the end)."""

    raw_items: list[str]
    next_cursor: str | None

    @property
    def items(self) -> list[dict[str, Any]]:
        """The requests as dicts."""
        return [json.loads(raw) for raw in self.raw_items]

    def to_json(self) -> str:
        """The page as the API answers it, built from the stored documents without re-encoding them."""
        items = ",".join(self.raw_items)
        if "NaN" in items or "Infinity" in items:  # a document stored before NaN was refused may hold one
            items = ",".join(map(finite_json.clean_text, self.raw_items))
        cursor = "null" if self.next_cursor is None else json.dumps(self.next_cursor)
        return f'{{"requests":[{items}],"next_cursor":{cursor}}}'


COMPACT = (",", ":")  # the API's own JSON encoding, so stored documents are answered as they are

# KEYS = request hashes; no ARGV. Answers each one's ``doc`` field (nil where there is none): one call for a page's
# documents instead of a pipeline of HGETs (redis-py packs and parses each command of a pipeline on its own).
_DOCS = """
local docs = {}
for i = 1, #KEYS do docs[i] = redis.call('HGET', KEYS[i], 'doc') end
return docs
"""

# KEYS = index keys (sorted sets); ARGV = the highest score to read, how many per key. Answers, per key, its top
# entries from that score down as a flat list (member, score, member, score...): the ZREVRANGEBYSCORE of each key
# in one call (redis-py parses each command of a pipeline, with its score conversion, on its own).
_TOP = """
local tops = {}
for i = 1, #KEYS do
  tops[i] = redis.call('ZREVRANGEBYSCORE', KEYS[i], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
end
return tops
"""

# A page of the inbox in Redis, as ``Inbox.list_for`` reads it without a name filter: one call, so an API process
# sends one command per page instead of a round trip per step. ``read_page(first, count, max_score, after_id,
# limit, prefix)``: KEYS[first .. first + count - 1] are the caller's index keys; ``after_id`` is false without a
# cursor. Answers {more (0 or 1), id, score, doc, id, score, doc...}: the page's entries newest first (ties by id),
# ``more`` when a document lies past the page. The same steps as the Python path (``_top``, ``_docs``): read each
# key's top from ``max_score`` down, merge, keep what lies above the highest last score of a key that has more,
# drop what the cursor has passed, and double the read until the page is full or every key is exhausted. Ids are
# compared byte by byte (Lua's ``<`` follows the server's locale; Python compares code points, the same order as
# UTF-8 bytes).
PAGE_FUNCTION = """
local function id_before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function read_page(first, count, max_score, after_id, limit, prefix)
  local cut = after_id and tonumber(max_score)
  local batch = limit + 16
  while true do
    local raw_scores, scores, members, frontier = {}, {}, {}, false
    for i = first, first + count - 1 do
      local rows = redis.call('ZREVRANGEBYSCORE', KEYS[i], max_score, '-inf', 'WITHSCORES', 'LIMIT', 0, batch)
      for j = 1, #rows, 2 do
        if not scores[rows[j]] then members[#members + 1] = rows[j] end
        raw_scores[rows[j]], scores[rows[j]] = rows[j + 1], tonumber(rows[j + 1])
      end
      if #rows == 2 * batch then
        local last = tonumber(rows[#rows])
        if not frontier or last > frontier then frontier = last end
      end
    end
    local picked = {}
    for _, m in ipairs(members) do
      local s = scores[m]
      if (not frontier or s > frontier) and (not cut or s < cut or id_before(after_id, m)) then
        picked[#picked + 1] = m
      end
    end
    table.sort(picked, function(a, b)
      if scores[a] ~= scores[b] then return scores[a] > scores[b] end
      return id_before(a, b)
    end)
    local out, found = {0}, 0
    for _, m in ipairs(picked) do
      local doc = redis.call('HGET', prefix .. 'req:' .. m, 'doc')
      if doc and doc ~= '' then
        found = found + 1
        if found > limit then
          out[1] = 1
          break
        end
        table.insert(out, m)
        table.insert(out, raw_scores[m])
        table.insert(out, doc)
      end
    end
    if found > limit or not frontier then return out end
    batch = batch * 2
  end
end
"""
_PAGE = PAGE_FUNCTION + "return read_page(1, #KEYS, ARGV[1], ARGV[2] ~= '' and ARGV[2], tonumber(ARGV[3]), ARGV[4])\n"


class Inbox:
    """Read and write the inbox read model."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._put = scripts.register(client, _PUT)
        self._get_docs = scripts.register(client, _DOCS)
        self._get_top = scripts.register(client, _TOP)
        self._get_page = scripts.register(client, _PAGE)
        self.events = EventStream(client)

    @staticmethod
    def index_keys(status: str, users: list[str], groups: list[str]) -> list[str]:
        """The sorted-set keys that list a request with this status and these assignees."""
        return [f"{PREFIX}inbox:{status}:u:{u.lower()}" for u in users] + [
            f"{PREFIX}inbox:{status}:g:{g}" for g in groups
        ]

    def put(self, request: HumanRequest | dict[str, Any], provisional: bool = False) -> bool:
        """Store this version of a request; False when a newer version is already there.

        ``provisional``: written before the workflow task that made it committed (the run's end snapshot, a
        local activity); such a write never beats a stored version, and a committed write of the same version
        replaces it (a task that was lost cannot leave behind a state Temporal never recorded).
        A version that is stored is also published on the event stream (``request.opened``...), in the same
        script.
        """
        return bool(self.put_call(request, provisional)())

    def put_call(self, request: HumanRequest | dict[str, Any], provisional: bool = False) -> scripts.Call:
        """``put`` as a call to make with others in one round trip (``scripts.run_in_one_trip``); it answers 1
        when the version was stored."""
        doc = dataclasses.asdict(request) if isinstance(request, HumanRequest) else dict(request)
        keys = self.index_keys(doc["status"], doc["users"], doc["groups"])
        return scripts.Call(self._put, [f"{PREFIX}req:{doc['id']}", *EVENT_KEYS], [
            doc["version"], finite_json.dumps(doc, separators=COMPACT), _millis(doc["created_at"]), doc["id"],
            doc["status"], PREFIX, str(doc.get("query")), "1" if provisional else "0",
            *self.events.request_event_args(doc), *request_facts.index_args(doc), *keys])

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The stored request, or None."""
        raw = self.redis.hget(f"{PREFIX}req:{request_id}", "doc")
        return json.loads(raw) if raw else None

    def list_for(self, who: Identity, status: str = PENDING, name: str | None = None, limit: int = 10,
                 cursor: str | None = None, also_users: tuple[str, ...] = (),
                 admit: Callable[[str], str | None] | None = None) -> InboxPage:
        """The caller's requests with this status, newest first, ``limit`` per page.

        Reads the top of each assignee key (the user's and each group's) and merges them, doubling the
        read until a page is full or every key is exhausted: big group sets are never read whole.
        ``also_users``: other people's keys to merge in (a delegate's absent colleagues), with ``admit`` deciding
        for each stored document what the page shows (the document, as it is or marked) or None to leave it out.
        """
        if not name and not also_users and admit is None:
            keys, args = self.page_keys_and_args(who, status, limit, cursor)
            return self.parse_page(self._get_page(keys=keys, args=args))
        keys = self.index_keys(status, [who.user, *also_users] if who.user else [], who.groups)
        max_score, after_id = "+inf", ""
        if cursor:
            max_score, _, after_id = cursor.partition(":")
        batch = limit + 16
        while True:
            candidates, exhausted = self._top(keys, max_score, batch)
            if cursor:
                cut = float(max_score)
                candidates = [(m, s) for m, s in candidates if s < cut or m > after_id]
            docs = self._docs(candidates, name, limit + 1, admit)
            if len(docs) > limit or exhausted:
                break
            batch *= 2
        page = docs[:limit]
        next_cursor = f"{int(page[-1][1])}:{page[-1][0]}" if len(docs) > limit else None
        return InboxPage(raw_items=[raw for _, _, raw in page], next_cursor=next_cursor)

    def page_keys_and_args(self, who: Identity, status: str, limit: int,
                           cursor: str | None) -> tuple[list[str], list[str | int]]:
        """The index keys (KEYS) and ``max_score, after_id, limit, prefix`` (ARGV) of ``read_page`` for the
        caller's page."""
        max_score, _, after_id = cursor.partition(":") if cursor else ("+inf", "", "")
        return self.index_keys(status, [who.user] if who.user else [], who.groups), [max_score, after_id, limit, PREFIX]

    @staticmethod
    def parse_page(answer: list[Any]) -> InboxPage:
        """What ``read_page`` answered, as an InboxPage."""
        items = [raw.decode() if isinstance(raw, bytes) else raw for raw in answer[3::3]]
        last = answer[-3:] if answer[0] and len(answer) > 1 else None
        next_cursor = f"{int(float(last[1]))}:{_text(last[0])}" if last else None
        return InboxPage(raw_items=items, next_cursor=next_cursor)

    def _top(self, keys: list[str], max_score: str, batch: int) -> tuple[list[tuple[str, float]], bool]:
        """Merged (id, score) pairs, newest first, safe to consume; True when no key has more."""
        flat = self._get_top(keys=keys, args=[max_score, batch]) if keys else []
        results = [list(zip(row[::2], map(float, row[1::2]), strict=True)) for row in flat]
        merged: dict[str, float] = {}
        frontier = float("-inf")
        for rows in results:
            for member, score in rows:
                merged[member.decode() if isinstance(member, bytes) else member] = score
            if len(rows) == batch:  # this key has more below its last score: nothing lower is known yet
                frontier = max(frontier, rows[-1][1])
        ordered = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(m, s) for m, s in ordered if s > frontier], frontier == float("-inf")

    def _docs(self, candidates: list[tuple[str, float]], name: str | None,
              wanted: int, admit: Callable[[str], str | None] | None = None) -> list[tuple[str, float, str]]:
        """(id, score, stored JSON) for the candidates that match, up to ``wanted``.

        The index key already fixes the status (the write script moves ids between keys atomically), so
        documents are only parsed when filtering by name.
        """
        docs: list[tuple[str, float, str]] = []
        step = wanted + 16
        for start in range(0, len(candidates), step):
            chunk = candidates[start:start + step]
            raws = self._get_docs(keys=[f"{PREFIX}req:{member}" for member, _ in chunk]) if chunk else []
            for (member, score), raw in zip(chunk, raws, strict=True):
                if not raw:
                    continue
                text = raw.decode() if isinstance(raw, bytes) else raw
                if name and json.loads(text)["name"] != name:
                    continue
                if admit is not None and (text := admit(text)) is None:
                    continue
                docs.append((member, score, text))
                if len(docs) >= wanted:
                    return docs
        return docs

    def pending_ids(self, limit: int = 10_000) -> set[str]:
        """Ids listed as pending under any assignee (at most ``limit``), for reconciling with Temporal."""
        found: set[str] = set()
        for key in self.redis.scan_iter(match=f"{PREFIX}inbox:{PENDING}:*", count=1000):
            found.update(m.decode() if isinstance(m, bytes) else m for m in self.redis.zrange(key, 0, limit))
            if len(found) >= limit:
                break
        return found

    def pending_by_query(self) -> dict[str, int]:
        """How many requests are pending, per query (queries with none are left out)."""
        keys = list(self.redis.scan_iter(match=f"{PREFIX}{PENDING_BY_QUERY}*", count=500))
        with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.scard(key)
            counts = pipe.execute()
        cut = len(PREFIX) + len(PENDING_BY_QUERY)
        return {(k.decode() if isinstance(k, bytes) else k)[cut:]: n for k, n in zip(keys, counts, strict=True) if n}

    def close_out(self, request_id: str, at: str) -> bool:
        """Mark a request that can no longer be decided as cancelled (if it is still pending here)."""
        doc = self.get(request_id)
        if doc is None or doc["status"] != PENDING:
            return False
        return self.put(closed_out(doc, at))

    def clear(self) -> int:
        """Delete the whole inbox read model (before a rebuild); returns how many keys went."""
        removed = 0
        for pattern in (f"{PREFIX}req:*", f"{PREFIX}inbox:*", f"{PREFIX}{PENDING_BY_QUERY}*"):
            batch = list(self.redis.scan_iter(match=pattern, count=1000))
            if batch:
                removed += self.redis.delete(*batch)
        return removed
