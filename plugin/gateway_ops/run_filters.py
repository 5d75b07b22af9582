"""What run history is asked for and where a listing stands: the filters (turned into a visibility query) and the
cursor (opaque to callers, checked field by field so a crafted one never reaches a visibility query).
``plugin.gateway_ops.listing`` pages with them."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from plugin import search_attributes as sa
from plugin.errors import ValidationFailed

RECENT_PHASE, OPEN_PHASE, CLOSED_PHASE = "recent", "open", "closed"
_STATUS_CLAUSES = {
    "running": f"ExecutionStatus = 'Running' AND ({sa.WAITING.name} = false OR {sa.WAITING.name} IS NULL)",
    "waiting": f"ExecutionStatus = 'Running' AND {sa.WAITING.name} = true",
    "completed": "ExecutionStatus = 'Completed'",
    "failed": "ExecutionStatus = 'Failed'",
    "cancelled": "ExecutionStatus = 'Canceled'",
    "terminated": "ExecutionStatus = 'Terminated'",
    "timed_out": "ExecutionStatus = 'TimedOut'",
}
RUN_STATUSES = tuple(_STATUS_CLAUSES)


@dataclass(frozen=True)
class RunFilters:
    """The run-history filters; values are validated by the API before they get here."""

    status: str | None = None
    query: str | None = None
    workflow: str | None = None
    started_by: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def digest(self) -> str:
        """Identifies the filters, so a cursor is only used with the filters that made it."""
        return hashlib.sha256(json.dumps(asdict(self), default=str, sort_keys=True).encode()).hexdigest()[:16]

    def admit(self, item: dict[str, Any]) -> bool:
        """Whether a run's list entry passes the filters (as the visibility query would)."""
        started = datetime.fromisoformat(item["started_at"]) if item.get("started_at") else None
        return ((self.status is None or item.get("status") == self.status)
                and (self.query is None or item.get("query") == self.query)
                and (self.workflow is None or item.get("workflow") == self.workflow)
                and (self.started_by is None or item.get("started_by") == self.started_by)
                and (self.since is None or (started is not None and started >= self.since))
                and (self.until is None or (started is not None and started < self.until)))


@dataclass
class Cursor:
    """Where the next page starts; opaque to callers (base64url JSON)."""

    filters: str
    as_of: int  # nanoseconds since the epoch
    phase: str
    start: int | None = None  # open phase: start of the last listed run; closed phase: of the open phase's last
    close: int | None = None  # closed phase: close time of the last listed run
    seen: list[str] = field(default_factory=list)  # ids already listed at the boundary time
    begin: int | None = None  # when the listing began: the recent phase lists the runs started up to then

    def encode(self) -> str:
        """The cursor as a URL-safe string."""
        return base64.urlsafe_b64encode(json.dumps(asdict(self), separators=(",", ":")).encode()).decode()

    @classmethod
    def decode(cls, raw: str, filters: RunFilters) -> Cursor:
        """Read a cursor; a ValidationFailed naming ``cursor`` when it is not one of ours or the filters changed.

        Every field is checked for type and range: a crafted cursor never reaches a visibility query."""
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
        except (ValueError, UnicodeError):
            data = None
        if isinstance(data, dict) and set(data) == _CURSOR_FIELDS - {"begin"}:
            data["begin"] = None  # a cursor made before the recent phase
        cursor = cls(**data) if isinstance(data, dict) and set(data) == _CURSOR_FIELDS else None
        if cursor is None or not cursor.is_valid():
            raise ValidationFailed("cursor: Not a cursor from this API.",
                                   {"fields": {"cursor": ["Not a cursor from this API."]}})
        if cursor.filters != filters.digest():
            raise ValidationFailed("cursor: This cursor was made for other filters; start again without it.",
                                   {"fields": {"cursor": ["Made for other filters."]}})
        return cursor

    def is_valid(self) -> bool:
        """Fields of the right types, times within the years 2000..2200, a bounded list of seen ids."""
        def moment(value: Any, optional: bool) -> bool:
            if value is None:
                return optional
            return type(value) is int and _EARLIEST <= value <= _LATEST
        return (isinstance(self.filters, str) and self.phase in _PHASES and moment(self.as_of, False)
                and moment(self.start, True) and moment(self.close, True) and moment(self.begin, True)
                and isinstance(self.seen, list)
                and len(self.seen) <= _MAX_SEEN and all(isinstance(i, str) and 0 < len(i) <= 1000 for i in self.seen))


_CURSOR_FIELDS = {"filters", "as_of", "phase", "start", "close", "seen", "begin"}
_PHASES = (RECENT_PHASE, OPEN_PHASE, CLOSED_PHASE)
_EARLIEST, _LATEST = 946_684_800 * 10**9, 7_258_118_400 * 10**9  # 2000-01-01, 2200-01-01
_MAX_SEEN = 1000


def quoted(value: str, field: str = "value") -> str:
    """A visibility query string literal; values with quotes or backslashes never reach a query."""
    if any(c in value for c in "'\"\\") or any(ord(c) < 32 for c in value):
        message = "May not contain quotes, backslashes or control characters."
        raise ValidationFailed(f"{value[:40]!r}: {message}", {"fields": {field: [message]}})
    return f"'{value}'"


def rfc3339(nanos: int) -> str:
    ts = Timestamp(seconds=nanos // 1_000_000_000, nanos=nanos % 1_000_000_000)
    return ts.ToJsonString()


def nanos(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000_000 + ts.nanos


def base_query(filters: RunFilters, task_queue: str) -> str:
    """The visibility query for the filters (without the cursor)."""
    clauses = [f"TaskQueue = {quoted(task_queue)}"]
    if filters.status:
        clauses.append(f"({_STATUS_CLAUSES[filters.status]})")
    if filters.query:
        clauses.append(f"{sa.QUERY.name} = {quoted(filters.query, 'query')}")
    if filters.workflow:
        clauses.append(f"WorkflowType = {quoted(filters.workflow, 'workflow')}")
    if filters.started_by:
        clauses.append(f"{sa.STARTED_BY.name} = {quoted(filters.started_by, 'started_by')}")
    if filters.since:
        clauses.append(f"StartTime >= '{filters.since.astimezone(UTC).isoformat()}'")
    if filters.until:
        clauses.append(f"StartTime < '{filters.until.astimezone(UTC).isoformat()}'")
    return " AND ".join(clauses)


