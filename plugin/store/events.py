"""The event stream read model: changes to runs and requests, for ``GET /api/v1/events`` (SSE).

Keys (prefix ``wf:``):
- ``events``: a Redis Stream; each entry has ``type`` (``run.updated``, ``request.opened``...), ``data``
  (JSON: the subject's ids and status) and ``users`` / ``groups`` (JSON lists: who may see it, besides
  admins). The entry id is the SSE event id, so ``Last-Event-ID`` resumes exactly after it.
- ``events:floor``: the lowest id the stream still holds without gaps. Entries older than the retention
  window are trimmed; a resume from below the floor cannot be served without a gap and is told so.

Events are derived, like the rest of the read models: a versioned write that wins (``Inbox.put``,
``RunSnapshots.put``) appends its event in the same Lua script (``PUBLISH_FUNCTION``), before it writes, so
a write that loses to a newer version publishes nothing, and no stored version goes without its event (a
Redis failure between a write and a separate publish lost the event for good).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from plugin import finite_json
from plugin.models import PENDING, Identity
from plugin.store import scripts

STREAM = "wf:events"
FLOOR = "wf:events:floor"
KEY_REVOKED = "key.revoked"  # internal: ends the open streams of that key at once, never sent to a client
RETENTION_SECONDS = 3600
_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

EVENT_KEYS = (STREAM, FLOOR)
EVENT_ARGS = 5  # how many ARGV an event takes (``EventStream.event_args``)
# A Lua function for the scripts that publish with their write: publish(stream, floor, at) appends the event
# whose ARGV[at .. at + 4] are minid, type, data, users, groups, and answers its id. The floor moves before the
# trim, so a reader never sees a trimmed range as complete.
PUBLISH_FUNCTION = """
local function publish(stream, floor_key, at)
  local minid = ARGV[at]
  local floor = redis.call('GET', floor_key)
  if (not floor) or tonumber(minid) > tonumber(floor) then redis.call('SET', floor_key, minid) end
  return redis.call('XADD', stream, 'MINID', '~', minid, '*', 'type', ARGV[at + 1], 'data', ARGV[at + 2],
                    'users', ARGV[at + 3], 'groups', ARGV[at + 4])
end
"""
# KEYS[1] = stream, KEYS[2] = floor. ARGV = one event.
_PUBLISH = PUBLISH_FUNCTION + "return publish(KEYS[1], KEYS[2], 1)\n"


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def id_key(event_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def valid_id(event_id: str) -> bool:
    """Whether a string is a stream id (``<ms>-<seq>``)."""
    return bool(_ID.match(event_id))


@dataclass(frozen=True)
class Event:
    """One change, with who may see it."""

    id: str
    type: str
    data: dict[str, Any]
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def visible_to(self, who: Identity) -> bool:
        """Admins see every event; others the events that name them or one of their groups. Internal events
        (a key's revocation) are for the stream servers, never for a client."""
        if self.type == KEY_REVOKED:
            return False
        if who.is_admin:
            return True
        return bool(who.user and who.user in self.users) or bool(set(who.groups) & set(self.groups))

    def to_sse(self) -> str:
        """The event in the ``text/event-stream`` format."""
        return f"id: {self.id}\nevent: {self.type}\ndata: {finite_json.dumps(self.data, separators=(',', ':'))}\n\n"


def parse_entry(entry_id: Any, fields: dict[Any, Any]) -> Event:
    """An event from a stream entry as Redis answers it (sync or asyncio client alike)."""
    f = {_text(k): _text(v) for k, v in fields.items()}
    return Event(id=_text(entry_id), type=f["type"], data=json.loads(f["data"]),
                 users=json.loads(f.get("users", "[]")), groups=json.loads(f.get("groups", "[]")))


def request_event_type(doc: dict[str, Any]) -> str:
    """``request.opened`` for a new request, ``request.updated`` while pending, else by its end."""
    if doc["status"] == PENDING:
        return "request.opened" if doc.get("version", 1) <= 1 else "request.updated"
    return {"resolved": "request.decided", "expired": "request.expired"}.get(doc["status"], "request.cancelled")


class EventStream:
    """Publish and read the event stream."""

    def __init__(self, client: redis.Redis, retention_seconds: int = RETENTION_SECONDS) -> None:
        self.redis = client
        self.retention_ms = retention_seconds * 1000
        self._publish = scripts.register(client, _PUBLISH)

    def event_args(self, kind: str, data: dict[str, Any], users: list[str], groups: list[str]) -> list[str]:
        """The ARGV of one event for ``PUBLISH_FUNCTION`` (its KEYS are ``EVENT_KEYS``)."""
        minid = int(time.time() * 1000) - self.retention_ms
        return [str(minid), kind, finite_json.dumps(data, default=str), json.dumps(sorted(set(users))),
                json.dumps(sorted(set(groups)))]

    def publish(self, kind: str, data: dict[str, Any], users: list[str], groups: list[str]) -> str:
        """Append an event on its own; returns its id."""
        return _text(self._publish(keys=list(EVENT_KEYS), args=self.event_args(kind, data, users, groups)))

    def request_event_args(self, doc: dict[str, Any]) -> list[str]:
        """The event for a stored version of a request (assignees and requester may see it)."""
        data = {"request_id": doc["id"], "run_id": doc["run_id"], "name": doc["name"], "status": doc["status"],
                "resolution": doc.get("resolution"), "version": doc.get("version")}
        users = [u.lower() for u in doc.get("users", [])] + ([doc["requester"]] if doc.get("requester") else [])
        return self.event_args(request_event_type(doc), data, users, list(doc.get("groups", [])))

    def run_event_args(self, doc: dict[str, Any], requests: list[dict[str, Any]]) -> list[str]:
        """The event for a stored version of a run (its starter and its requests' assignees may see it)."""
        status = doc.get("status")
        if status in ("running", "waiting"):
            status = "waiting" if any(r.get("status") == PENDING for r in requests) else "running"
        data = {"run_id": doc["id"], "status": status, "query": doc.get("query"), "workflow": doc.get("workflow")}
        users = [doc["started_by"]] if doc.get("started_by") else []
        groups: list[str] = []
        for r in requests:
            users += [u.lower() for u in r.get("users", [])]
            groups += r.get("groups", [])
        return self.event_args("run.updated", data, users, groups)

    def last_id(self) -> str:
        """The id of the newest event ("0-0" when there is none)."""
        newest = self.redis.xrevrange(STREAM, count=1)
        return _text(newest[0][0]) if newest else "0-0"

    def floor(self) -> str:
        """Events after this id are all still held."""
        raw = self.redis.get(FLOOR)
        return f"{_text(raw)}-0" if raw else "0-0"

    def has_gap_after(self, event_id: str) -> bool:
        """Whether events after ``event_id`` may have been trimmed (the resume cannot be complete)."""
        return id_key(event_id) < id_key(self.floor())

    def after(self, event_id: str, count: int = 500) -> list[Event]:
        """Up to ``count`` events after this id, oldest first."""
        rows = self.redis.xrange(STREAM, min=f"({event_id}", max="+", count=count)
        return [parse_entry(i, f) for i, f in rows]

    def wait_after(self, event_id: str, block_ms: int, count: int = 500) -> list[Event]:
        """Events after this id, waiting up to ``block_ms`` for the first."""
        answer = self.redis.xread({STREAM: event_id}, count=count, block=block_ms)
        return [parse_entry(i, f) for _, rows in (answer or []) for i, f in rows]
