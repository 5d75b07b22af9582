"""The run snapshot read model: what GET /runs/{id} answers without asking Temporal.

Keys (prefix ``wf:``):
- ``run:{id}``: hash with ``start_ms`` and ``seq`` (the version), ``doc`` (the run as JSON: status,
  input, output, error, timestamps, audit) and ``written_ms`` (when it was last written or confirmed);
- ``run:{id}:requests``: set of the run's request ids; their documents live in the inbox read model, whose
  per-request versions (and the API's own write after a decision) keep them current;
- ``run:{id}:retries``: set of the ids of runs that retry this one (visibility has them too).

The version is ``(start_ms, seq)``: the run's start time (a later run under the same business-key id wins)
and its history length when the state was taken (the worker's ``get_current_history_length()``, or
``history_length`` from describe when the API refreshes from Temporal). A write older than what is stored
is ignored, so the worker's activities and the API's refreshes can race safely.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from plugin import finite_json
from plugin.store import scripts
from plugin.store.events import EVENT_KEYS, PUBLISH_FUNCTION, EventStream
from plugin.store.inbox import PREFIX

OPEN_STATUSES = ("running", "waiting")
# An open run's snapshot is trusted this long after it was written or confirmed; then one read asks
# Temporal again (a run terminated or timed out from outside never passes through the worker).
MAX_OPEN_AGE_MS = 10_000
# Closed runs' snapshots expire; Temporal (within its retention) answers afterwards.
CLOSED_TTL_SECONDS = 7 * 24 * 3600

# KEYS[1] = run hash, KEYS[2] = request-id set, KEYS[3..4] = the event stream's keys. ARGV = start_ms, seq, doc,
# written_ms, ttl (0: an open run; else closed), chain (the first execution's run id), the run's event (ARGV[7..11],
# published when this version is stored, before anything is written), ids... An ended run's snapshot is final for that
# execution: an open one of the same start never replaces it, even at the same history length (the API's describe
# during the run's last workflow task sees the length the worker's end snapshot carries; without this a read right
# after a Redis flush could store "running" over "completed", to be trusted for MAX_OPEN_AGE_MS). A later run under
# the same id drops the old run's request ids, unless it continues the same chain (continue-as-new carries its
# requests along).
_PUT = PUBLISH_FUNCTION + """
local cur = redis.call('HMGET', KEYS[1], 'start_ms', 'seq', 'chain', 'closed')
local closing = tonumber(ARGV[5]) > 0 and '1' or '0'
if cur[1] then
  local cs, cq, ns, nq = tonumber(cur[1]), tonumber(cur[2]), tonumber(ARGV[1]), tonumber(ARGV[2])
  if cs > ns or (cs == ns and cq > nq) then return 0 end
  if cs == ns and cur[4] == '1' and closing == '0' then return 0 end
end
publish(KEYS[3], KEYS[4], 7)
if cur[1] and tonumber(cur[1]) < tonumber(ARGV[1]) and cur[3] ~= ARGV[6] then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[1], 'start_ms', ARGV[1], 'seq', ARGV[2], 'doc', ARGV[3], 'written_ms', ARGV[4],
           'chain', ARGV[6], 'closed', closing)
for i = 12, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
if tonumber(ARGV[5]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end
return 1
"""

# A Lua function (for this module's read and for scripts that join it to other work, e.g. admitting the request):
# read_snapshot() reads KEYS[1..3] = run hash, request-id set, retry-id set, with ARGV[1] = inbox key prefix.
# Answers false, or {doc, written_ms, #retries, retry ids..., (request id, its inbox doc or '')...}.
READ_FUNCTION = """
local function read_snapshot()
  local snap = redis.call('HMGET', KEYS[1], 'doc', 'written_ms')
  if not snap[1] then return false end
  local retries = redis.call('SMEMBERS', KEYS[3])
  local out = {snap[1], snap[2], #retries}
  for _, id in ipairs(retries) do table.insert(out, id) end
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    table.insert(out, id)
    table.insert(out, redis.call('HGET', ARGV[1] .. 'req:' .. id, 'doc') or '')
  end
  return out
end
"""
_GET = READ_FUNCTION + "return read_snapshot()\n"  # one round trip for a read

# KEYS as above. ARGV[1] = the Temporal run id that now owns the workflow id.
_FORGET = """
local doc = redis.call('HGET', KEYS[1], 'doc')
if doc and cjson.decode(doc)['temporal_run_id'] ~= ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Snapshot:
    """A stored run with its requests (None where the inbox lacks a request's document)."""

    doc: dict[str, Any]
    written_ms: int
    requests: dict[str, dict[str, Any] | None]
    retries: list[str]

    def is_fresh(self, now_ms: int | None = None) -> bool:
        """Complete, and for an open run recent enough to answer without Temporal."""
        if any(r is None for r in self.requests.values()):
            return False
        return trusted(self.doc.get("status"), self.written_ms, now_ms)


def trusted(status: str | None, written_ms: int, now_ms: int | None = None) -> bool:
    """Whether a complete snapshot with this stored status may answer without Temporal: a closed run always,
    an open one for ``MAX_OPEN_AGE_MS`` after it was written or confirmed."""
    if status not in OPEN_STATUSES:
        return True
    return (now_ms if now_ms is not None else _now_ms()) - written_ms <= MAX_OPEN_AGE_MS


@dataclass(frozen=True)
class RawSnapshot:
    """A stored run before decoding: what a read can answer (or recognise as unchanged) without parsing it."""

    doc: bytes
    written_ms: int
    retries: tuple[str, ...]
    requests: tuple[tuple[str, bytes], ...]  # (request id, its inbox document; b"" where the inbox lacks it)

    @property
    def complete(self) -> bool:
        """Every request the run lists has its document in the inbox."""
        return all(body for _, body in self.requests)

    def decoded(self) -> Snapshot:
        """The snapshot with its JSON parsed."""
        return Snapshot(doc=json.loads(self.doc), written_ms=self.written_ms, retries=list(self.retries),
                        requests={rid: json.loads(body) if body else None for rid, body in self.requests})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class RunSnapshots:
    """Read and write run snapshots."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._put = scripts.register(client, _PUT)
        self._get = scripts.register(client, _GET)
        self._forget = scripts.register(client, _FORGET)
        self.events = EventStream(client)

    @staticmethod
    def keys(run_id: str) -> list[str]:
        """The hash and the request-id set of a run."""
        return [f"{PREFIX}run:{run_id}", f"{PREFIX}run:{run_id}:requests"]

    def put(self, doc: dict[str, Any], start_ms: int, seq: int, request_ids: list[str] | tuple = (),
            request_docs: list[dict[str, Any]] | None = None) -> bool:
        """Store this version of a run; False when a newer version is already there.

        A version that is stored is also published on the event stream (``run.updated``) in the same script,
        naming who may see it from ``request_docs`` (every request of the run) when given, else from the inbox.
        """
        return bool(self.put_call(doc, start_ms, seq, request_ids, request_docs)())

    def put_call(self, doc: dict[str, Any], start_ms: int, seq: int, request_ids: list[str] | tuple = (),
                 request_docs: list[dict[str, Any]] | None = None) -> scripts.Call:
        """``put`` as a call to make with others in one round trip (``scripts.run_in_one_trip``); it answers 1
        when the version was stored."""
        ttl = 0 if doc.get("status") in OPEN_STATUSES else CLOSED_TTL_SECONDS
        audience = request_docs if request_docs else self._request_docs(doc["id"], request_ids)
        return scripts.Call(self._put, [*self.keys(doc["id"]), *EVENT_KEYS], [
            start_ms, seq, finite_json.dumps(doc, default=str), _now_ms(), ttl, doc.get("chain") or "",
            *self.events.run_event_args(doc, audience), *request_ids])

    def _request_docs(self, run_id: str, request_ids: list[str] | tuple = ()) -> list[dict[str, Any]]:
        """The stored documents of a run's requests, those listed and those given (for who may see its events)."""
        ids = {_text(rid) for rid in self._redis.smembers(self.keys(run_id)[1])} | set(request_ids)
        if not ids:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for rid in ids:
                pipe.hget(f"{PREFIX}req:{rid}", "doc")
            docs = pipe.execute()
        return [json.loads(d) for d in docs if d]

    @staticmethod
    def _retries_key(run_id: str) -> str:
        return f"{PREFIX}run:{run_id}:retries"

    def add_retries(self, run_id: str, retry_ids: list[str]) -> None:
        """Record runs that retry this one (idempotent); kept as long as a closed snapshot."""
        if retry_ids:
            key = self._retries_key(run_id)
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.sadd(key, *retry_ids)
                pipe.expire(key, CLOSED_TTL_SECONDS)
                pipe.execute()

    def link_request(self, run_id: str, request_id: str) -> None:
        """Record that a request belongs to the run (idempotent)."""
        self._redis.sadd(self.keys(run_id)[1], request_id)

    def read_keys_and_args(self, run_id: str) -> tuple[list[str], list[str]]:
        """The KEYS and ARGV of ``READ_FUNCTION`` for a run."""
        return [*self.keys(run_id), self._retries_key(run_id)], [PREFIX]

    def get_raw(self, run_id: str) -> RawSnapshot | None:
        """The stored run as Redis holds it (JSON text, not decoded), or None: one round trip."""
        keys, args = self.read_keys_and_args(run_id)
        return self.parse_raw(self._get(keys=keys, args=args))

    @staticmethod
    def parse_raw(raw: Any) -> RawSnapshot | None:
        """What ``read_snapshot`` answered, as a RawSnapshot (None when there is no snapshot)."""
        if not raw:
            return None
        count = int(raw[2])
        retries = tuple(sorted(_text(r) for r in raw[3:3 + count]))
        requests = tuple(sorted((_text(raw[i]), raw[i + 1] or b"") for i in range(3 + count, len(raw), 2)))
        return RawSnapshot(doc=raw[0], written_ms=int(raw[1] or 0), retries=retries, requests=requests)

    def get(self, run_id: str) -> Snapshot | None:
        """The stored run, or None."""
        raw = self.get_raw(run_id)
        return raw.decoded() if raw is not None else None

    def forget_other_runs(self, run_id: str, temporal_run_id: str) -> None:
        """A new run took over this id: drop a snapshot of an earlier run (the next read asks Temporal)."""
        self._forget(keys=[*self.keys(run_id), self._retries_key(run_id)], args=[temporal_run_id])
