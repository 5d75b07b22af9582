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
Visibility trails the truth by a second or more, so the moment is taken ``RECENT_WINDOW`` back, and the runs
started after it come first, in a recent phase:

- recent phase: the runs the API started up to the moment the listing began (``begin``), from its own record
  (``plugin.store.recent_starts``, keyed by the API's clock as it recorded each start), merged with whatever
  visibility shows started in the same window (runs the API did not start: schedules, child workflows), by
  start time. A run the API started is listed here once, from its record (visibility's row, when there is
  one, gives it its current status), and left out of the later phases.
Read-your-writes: a run whose trigger was answered before the listing began is on its first page(s). Runs
started after ``begin`` belong to a new listing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecution

from plugin import search_attributes as sa
from plugin.gateway_ops.run_filters import (  # noqa: F401  (Cursor, RunFilters, quoted...: this module's face)
    CLOSED_PHASE,
    OPEN_PHASE,
    RECENT_PHASE,
    RUN_STATUSES,
    Cursor,
    RunFilters,
    base_query,
    nanos,
    quoted,
    rfc3339,
)
from plugin.gateway_ops.runs import STATUS_NAMES

# Visibility trails the truth by a second or more: the open and closed phases are pinned this far back, and
# the runs started since are listed from the API's own record of its starts (and what visibility has of them).
RECENT_WINDOW = timedelta(seconds=5)
# Clocks of the API and of Temporal may disagree by this much: a recorded run whose record is this close above
# the moment is also looked for (and left out) in the later phases.
CLOCK_SKEW = timedelta(seconds=2)
# At most this many runs that ended while a caller paged are read for one page of the open phase.
MAX_WINDOW = 10_000


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
    return nanos(r.raw_info.start_time)


def _close_of(r: WorkflowExecution) -> int:
    return nanos(r.raw_info.close_time)


def _boundary(rows: list[WorkflowExecution], key: Any, previous: int | None, seen: list[str]) -> tuple[int, list[str]]:
    last = key(rows[-1])
    ids = [r.id for r in rows if key(r) == last]
    return last, ids + (seen if last == previous else [])


def first_cursor(filters: RunFilters, begin: int | None = None) -> Cursor:
    """The cursor of a listing beginning now (``begin``, nanoseconds): the recent phase first."""
    begin = begin if begin is not None else _nanos_now()
    return Cursor(filters=filters.digest(), as_of=begin - int(RECENT_WINDOW.total_seconds() * 1e9),
                  phase=RECENT_PHASE, begin=begin)


@dataclass(frozen=True)
class Recorded:
    """The runs the API started in the recent window (``plugin.store.recent_starts``): id, when, list entry."""

    runs: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    def near(self, as_of: int) -> set[str]:
        """Ids whose record is close enough above ``as_of`` that Temporal's clock may have put them below it."""
        skew = int(CLOCK_SKEW.total_seconds() * 1e9)
        return {run_id for run_id, at, _ in self.runs if at <= as_of + skew}


async def list_runs(client: Client, task_queue: str, filters: RunFilters, limit: int, cursor: Cursor | None,
                    recorded: Recorded | None = None) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of runs and the cursor of the next page (None when there is none). ``recorded``: the API's
    record of the runs it started between the cursor's ``as_of`` and ``begin``."""
    base = base_query(filters, task_queue)
    lists_open = filters.status in (None, "running", "waiting")
    lists_closed = filters.status not in ("running", "waiting")
    recorded = recorded or Recorded()
    cursor = cursor or first_cursor(filters)
    items: list[dict[str, Any]] = []
    if cursor.phase == RECENT_PHASE:
        any_status = base_query(replace(filters, status=None), task_queue)
        items, cursor = await _recent_page(client, any_status, filters, cursor, limit, recorded,
                                           OPEN_PHASE if lists_open else CLOSED_PHASE)
        if cursor.phase == RECENT_PHASE or len(items) == limit:
            return items, cursor
    skip = recorded.near(cursor.as_of)
    if cursor.phase == OPEN_PHASE:
        page, next_cursor = await _open_page(client, base, lists_closed, cursor, limit - len(items), skip)
        items += [summary(r) for r in page]
        if next_cursor is None or next_cursor.phase == OPEN_PHASE or len(items) == limit:
            return items, next_cursor
        cursor = next_cursor
    return await _closed_page(client, base, lists_open, cursor, limit, items, skip)


async def _recent_page(client: Client, any_status: str, filters: RunFilters, cursor: Cursor, limit: int,
                       recorded: Recorded, next_phase: str) -> tuple[list[dict[str, Any]], Cursor]:
    """A page of the runs started after ``as_of`` and up to ``begin``, newest first: the recorded ones and those
    visibility shows (``any_status``: the visibility query without the status filter, which is applied here,
    a recorded run's status coming from visibility when it has the run, else from its record). The cursor
    goes on in the recent phase, or moves on to ``next_phase``."""
    assert cursor.begin is not None
    top = cursor.start if cursor.start is not None else cursor.begin
    visible = {r.id: r for r in await _fetch_all(
        client, f"{any_status} AND StartTime > '{rfc3339(cursor.as_of)}' AND StartTime <= '{rfc3339(top)}'")}
    rows: list[tuple[int, str, dict[str, Any]]] = []
    for run_id, at, item in recorded.runs:
        current = summary(visible.pop(run_id)) if run_id in visible else item
        if at <= top and filters.admit(current):
            rows.append((at, run_id, current))
    recorded_ids = {run_id for run_id, _, _ in recorded.runs}
    rows += [(_start_of(r), r.id, summary(r)) for r in visible.values()
             if r.id not in recorded_ids and filters.admit(summary(r))]
    rows = [row for row in rows if not (row[0] == cursor.start and row[1] in cursor.seen)]
    rows.sort(key=lambda row: (-row[0], row[1]))
    page = rows[:limit]
    if len(rows) > limit:
        last = page[-1][0]
        seen = [row[1] for row in page if row[0] == last] + (cursor.seen if last == cursor.start else [])
        return [row[2] for row in page], Cursor(cursor.filters, cursor.as_of, RECENT_PHASE, start=last, seen=seen,
                                                begin=cursor.begin)
    return [row[2] for row in page], Cursor(cursor.filters, cursor.as_of, next_phase, begin=cursor.begin)


async def _open_page(client: Client, base: str, lists_closed: bool, cursor: Cursor,
                     limit: int, skip: set[str]) -> tuple[list[WorkflowExecution], Cursor | None]:
    """A page of the runs open at ``as_of``, by start time; the cursor goes on in the open phase, moves to the
    closed phase (``start``: below which the open-at-``as_of`` runs are left to it), or is None. Runs in
    ``skip`` were listed in the recent phase."""
    top = rfc3339(min(cursor.as_of, cursor.start) if cursor.start is not None else cursor.as_of)
    as_of = rfc3339(cursor.as_of)

    def unseen(r: WorkflowExecution) -> bool:
        return not (_start_of(r) == cursor.start and r.id in cursor.seen) and r.id not in skip
    # Still running first, then ended since: a run ending between the two reads is in both, never in neither.
    running = [r for r in await _fetch(client, f"{base} AND ExecutionStatus = 'Running' AND StartTime <= '{top}'",
                                       limit + 1 + len(cursor.seen) + len(skip)) if unseen(r)]
    running.sort(key=lambda r: (-_start_of(r), r.id))
    more_running = len(running) >= limit
    if running:
        low = _start_of(running[limit - 1]) if more_running else _start_of(running[-1])
    else:
        low = cursor.start if cursor.start is not None else cursor.as_of
    ended: list[WorkflowExecution] = []
    if lists_closed:
        ended = await _fetch_all(client, f"{base} AND ExecutionStatus != 'Running' AND StartTime <= '{top}' AND "
                                         f"StartTime >= '{rfc3339(low)}' AND CloseTime > '{as_of}'")
    merged = {r.id: r for r in ended if unseen(r)}
    merged.update({r.id: r for r in running})
    rows = sorted(merged.values(), key=lambda r: (-_start_of(r), r.id))
    page = rows[:limit]
    if len(rows) > limit or (more_running and page):
        start, seen = _boundary(page, _start_of, cursor.start, cursor.seen)
        return page, Cursor(cursor.filters, cursor.as_of, OPEN_PHASE, start=start, seen=seen, begin=cursor.begin)
    if not lists_closed:
        return page, None
    # Every open-at-as_of run started at or after ``low`` is listed; those below it have all ended.
    return page, Cursor(cursor.filters, cursor.as_of, CLOSED_PHASE, start=low, begin=cursor.begin)


async def _closed_page(client: Client, base: str, lists_open: bool, cursor: Cursor, limit: int,
                       listed: list[dict[str, Any]], skip: set[str]) -> tuple[list[dict[str, Any]], Cursor | None]:
    as_of = rfc3339(cursor.as_of)
    query = f"{base} AND ExecutionStatus != 'Running' AND StartTime <= '{as_of}'"
    if not lists_open:
        query += f" AND CloseTime <= '{as_of}'"
    elif cursor.start is not None:  # open at as_of and started at or after ``start``: listed in the open phase
        query += f" AND (CloseTime <= '{as_of}' OR StartTime < '{rfc3339(cursor.start)}')"
    if cursor.close is not None:
        query += f" AND CloseTime <= '{rfc3339(cursor.close)}'"
    wanted = limit - len(listed)
    rows = await _fetch(client, query, wanted + 1 + len(cursor.seen) + len(skip))
    rows = [r for r in rows if not (_close_of(r) == cursor.close and r.id in cursor.seen) and r.id not in skip]
    rows.sort(key=lambda r: (-_close_of(r), -_start_of(r), r.id))
    taken = rows[:wanted]
    items = listed + [summary(r) for r in taken]
    if len(rows) <= wanted:
        return items, None
    if not taken:  # the page filled up in the open phase: the closed phase starts on the next page
        return items, cursor
    close, seen = _boundary(taken, _close_of, cursor.close, cursor.seen)
    return items, Cursor(cursor.filters, cursor.as_of, CLOSED_PHASE, start=cursor.start, close=close, seen=seen,
                         begin=cursor.begin)


def _nanos_now() -> int:
    now = datetime.now(UTC)
    return int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
