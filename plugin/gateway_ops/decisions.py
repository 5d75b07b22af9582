"""Temporal operations behind the decisions export: the runs that may hold decisions in a time range, and each
run's requests as the workflow holds them (Temporal is the system of record of decisions).

A decision made between ``since`` and ``until`` belongs to a run that started before ``until`` and was still
open at ``since``: visibility lists those (still running, or closed at or after ``since``), a page at a time, and
each run's ``run_state`` query gives its requests with their decisions (a closed run's worker replays it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import Client

from plugin import search_attributes as sa
from plugin.models import HumanRequest, RunState

PAGE_SIZE = 100
STATE_CONCURRENCY = 8


@dataclass(frozen=True)
class RunRequests:
    """One run's requests, or why they could not be read."""

    run_id: str
    requests: list[HumanRequest]
    error: str = ""


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def runs_query(task_queue: str, since: datetime, until: datetime, query: str | None) -> str:
    """The visibility query of runs that may hold decisions made in [since, until); ``query`` is a checked name."""
    clauses = [f"TaskQueue = '{task_queue}'", f"StartTime < '{_stamp(until)}'",
               f"(ExecutionStatus = 'Running' OR CloseTime >= '{_stamp(since)}')"]
    if query:
        clauses.append(f"{sa.QUERY.name} = '{query}'")
    return " AND ".join(clauses)


async def runs_page(client: Client, visibility_query: str, token: bytes | None) -> tuple[list[str], bytes | None]:
    """One page of run ids (workflow ids) and the token of the next page (None at the end)."""
    iterator = client.list_workflows(visibility_query, page_size=PAGE_SIZE, next_page_token=token)
    await iterator.fetch_next_page(page_size=PAGE_SIZE)
    return [w.id for w in (iterator.current_page or [])], iterator.next_page_token or None


async def requests_of_runs(client: Client, run_ids: list[str], timeout: float = 10.0) -> list[RunRequests]:
    """Each run's requests from its ``run_state`` query, a few at a time; a run that cannot answer says why."""
    gate = asyncio.Semaphore(STATE_CONCURRENCY)

    async def one(run_id: str) -> RunRequests:
        async with gate:
            try:
                state: Any = await client.get_workflow_handle(run_id).query(
                    "run_state", result_type=RunState, rpc_timeout=timedelta(seconds=timeout))
            except Exception as exc:  # not a plugin workflow, or its worker is away: reported in the export
                return RunRequests(run_id, [], f"its requests could not be read: {getattr(exc, 'message', exc)}")
            return RunRequests(run_id, list(state.requests))

    return list(await asyncio.gather(*(one(r) for r in run_ids)))
