"""Run history from Temporal visibility, newest first, with a cursor that never skips or repeats a run.

Temporal's own page token is keyed on the close time, which changes when a run ends, so a run ending
between two pages could be listed twice. The cursor here pins the moment of the first page (``as_of``) and
splits the runs that existed then into two sets that cannot change while a caller pages:

- open phase: the runs open at ``as_of``, most recently started first, keyed on their start time. Some end
  while the caller pages; each page reads the still-running ones and then those that have ended since, over
  the same range of start times, so a run is on its page whether or not it has ended meanwhile;
- closed phase: the runs that had ended by ``as_of``, plus the open-at-``as_of`` runs below the open phase's
  last page (all of them ended by the time the open phase ran out), most recently ended first, keyed on their
  close time.
Runs started after the first page's moment belong to a new listing. The moment is taken a second back,
because visibility trails the truth by about that much.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.client import Client, WorkflowExecution

from plugin import search_attributes as sa
from plugin.errors import ValidationFailed
from plugin.gateway_ops.runs import STATUS_NAMES

OPEN_PHASE, CLOSED_PHASE = "open", "closed"
# Visibility trails the truth by about a second: the listing's moment is taken that far back.
VISIBILITY_LAG = timedelta(seconds=1)
# At most this many runs that ended while a caller paged are read for one page of the open phase.
MAX_WINDOW = 10_000
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


@dataclass
class Cursor:
    """Where the next page starts; opaque to callers (base64url JSON)."""

    filters: str
    as_of: int  # nanoseconds since the epoch
    phase: str
    start: int | None = None  # open phase: start of the last listed run; closed phase: of the open phase's last
    close: int | None = None  # closed phase: close time of the last listed run
    seen: list[str] = field(default_factory=list)  # ids already listed at the boundary time

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
                and moment(self.start, True) and moment(self.close, True) and isinstance(self.seen, list)
                and len(self.seen) <= _MAX_SEEN and all(isinstance(i, str) and 0 < len(i) <= 1000 for i in self.seen))


_CURSOR_FIELDS = {"filters", "as_of", "phase", "start", "close", "seen"}
_PHASES = (OPEN_PHASE, CLOSED_PHASE)
_EARLIEST, _LATEST = 946_684_800 * 10**9, 7_258_118_400 * 10**9  # 2000-01-01, 2200-01-01
_MAX_SEEN = 1000


def quoted(value: str, field: str = "value") -> str:
    """A visibility query string literal; values with quotes or backslashes never reach a query."""
    if any(c in value for c in "'\"\\") or any(ord(c) < 32 for c in value):
        message = "May not contain quotes, backslashes or control characters."
        raise ValidationFailed(f"{value[:40]!r}: {message}", {"fields": {field: [message]}})
    return f"'{value}'"


def _rfc3339(nanos: int) -> str:
    ts = Timestamp(seconds=nanos // 1_000_000_000, nanos=nanos % 1_000_000_000)
    return ts.ToJsonString()


def _nanos(ts: Timestamp) -> int:
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


def summary(execution: WorkflowExecution) -> dict[str, Any]:
    """One run as the list shows it."""
    attrs = execution.typed_search_attributes
    status = STATUS_NAMES.get(execution.status, "running") if execution.status else "running"
    if status == "running" and attrs.get(sa.WAITING):
        status = "waiting"
    return {
        "id": execution.id, "workflow": execution.workflow_type, "query": attrs.get(sa.QUERY),
        "started_by": attrs.get(sa.STARTED_BY), "app": attrs.get(sa.APP) or None,
        "retry_of": attrs.get(sa.RETRY_OF), "status": status,
        "started_at": execution.start_time.isoformat() if execution.start_time else None,
        "ended_at": execution.close_time.isoformat() if execution.close_time else None,
    }


async def _fetch(client: Client, query: str, size: int) -> list[WorkflowExecution]:
    iterator = client.list_workflows(query, page_size=size)
    await iterator.fetch_next_page(page_size=size)
    return list(iterator.current_page or [])


async def _fetch_all(client: Client, query: str) -> list[WorkflowExecution]:
    return [execution async for execution in client.list_workflows(query, page_size=500, limit=MAX_WINDOW)]


def _start_of(r: WorkflowExecution) -> int:
    return _nanos(r.raw_info.start_time)


def _close_of(r: WorkflowExecution) -> int:
    return _nanos(r.raw_info.close_time)


def _boundary(rows: list[WorkflowExecution], key: Any, previous: int | None, seen: list[str]) -> tuple[int, list[str]]:
    last = key(rows[-1])
    ids = [r.id for r in rows if key(r) == last]
    return last, ids + (seen if last == previous else [])


async def list_runs(client: Client, task_queue: str, filters: RunFilters, limit: int,
                    cursor: Cursor | None) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of runs and the cursor of the next page (None when there is none)."""
    base = base_query(filters, task_queue)
    lists_open = filters.status in (None, "running", "waiting")
    lists_closed = filters.status not in ("running", "waiting")
    if cursor is None:
        as_of = _nanos_now() - int(VISIBILITY_LAG.total_seconds() * 1e9)
        cursor = Cursor(filters=filters.digest(), as_of=as_of, phase=OPEN_PHASE if lists_open else CLOSED_PHASE)
    page: list[WorkflowExecution] = []
    if cursor.phase == OPEN_PHASE:
        page, next_cursor = await _open_page(client, base, lists_closed, cursor, limit)
        if next_cursor is None or next_cursor.phase == OPEN_PHASE or len(page) == limit:
            return [summary(r) for r in page], next_cursor
        cursor = next_cursor
    return await _closed_page(client, base, lists_open, cursor, limit, page)


async def _open_page(client: Client, base: str, lists_closed: bool, cursor: Cursor,
                     limit: int) -> tuple[list[WorkflowExecution], Cursor | None]:
    """A page of the runs open at ``as_of``, by start time; the cursor goes on in the open phase, moves to the
    closed phase (``start``: below which the open-at-``as_of`` runs are left to it), or is None."""
    top = _rfc3339(min(cursor.as_of, cursor.start) if cursor.start is not None else cursor.as_of)
    as_of = _rfc3339(cursor.as_of)

    def unseen(r: WorkflowExecution) -> bool:
        return not (_start_of(r) == cursor.start and r.id in cursor.seen)
    # Still running first, then ended since: a run ending between the two reads is in both, never in neither.
    running = [r for r in await _fetch(client, f"{base} AND ExecutionStatus = 'Running' AND StartTime <= '{top}'",
                                       limit + 1 + len(cursor.seen)) if unseen(r)]
    running.sort(key=lambda r: (-_start_of(r), r.id))
    more_running = len(running) >= limit
    if running:
        low = _start_of(running[limit - 1]) if more_running else _start_of(running[-1])
    else:
        low = cursor.start if cursor.start is not None else cursor.as_of
    ended: list[WorkflowExecution] = []
    if lists_closed:
        ended = await _fetch_all(client, f"{base} AND ExecutionStatus != 'Running' AND StartTime <= '{top}' AND "
                                         f"StartTime >= '{_rfc3339(low)}' AND CloseTime > '{as_of}'")
    merged = {r.id: r for r in ended if unseen(r)}
    merged.update({r.id: r for r in running})
    rows = sorted(merged.values(), key=lambda r: (-_start_of(r), r.id))
    page = rows[:limit]
    if len(rows) > limit or (more_running and page):
        start, seen = _boundary(page, _start_of, cursor.start, cursor.seen)
        return page, Cursor(cursor.filters, cursor.as_of, OPEN_PHASE, start=start, seen=seen)
    if not lists_closed:
        return page, None
    # Every open-at-as_of run started at or after ``low`` is listed; those below it have all ended.
    return page, Cursor(cursor.filters, cursor.as_of, CLOSED_PHASE, start=low)


async def _closed_page(client: Client, base: str, lists_open: bool, cursor: Cursor, limit: int,
                       page: list[WorkflowExecution]) -> tuple[list[dict[str, Any]], Cursor | None]:
    as_of = _rfc3339(cursor.as_of)
    query = f"{base} AND ExecutionStatus != 'Running' AND StartTime <= '{as_of}'"
    if not lists_open:
        query += f" AND CloseTime <= '{as_of}'"
    elif cursor.start is not None:  # open at as_of and started at or after ``start``: listed in the open phase
        query += f" AND (CloseTime <= '{as_of}' OR StartTime < '{_rfc3339(cursor.start)}')"
    if cursor.close is not None:
        query += f" AND CloseTime <= '{_rfc3339(cursor.close)}'"
    wanted = limit - len(page)
    rows = await _fetch(client, query, wanted + 1 + len(cursor.seen))
    rows = [r for r in rows if not (_close_of(r) == cursor.close and r.id in cursor.seen)]
    rows.sort(key=lambda r: (-_close_of(r), -_start_of(r), r.id))
    taken = rows[:wanted]
    items = [summary(r) for r in page + taken]
    if len(rows) <= wanted:
        return items, None
    if not taken:  # the page filled up in the open phase: the closed phase starts on the next page
        return items, cursor
    close, seen = _boundary(taken, _close_of, cursor.close, cursor.seen)
    return items, Cursor(cursor.filters, cursor.as_of, CLOSED_PHASE, start=cursor.start, close=close, seen=seen)


def _nanos_now() -> int:
    now = datetime.now(UTC)
    return int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
