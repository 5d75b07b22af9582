"""Temporal operations the API performs, as coroutines over a client (run them through the gateway)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from plugin import search_attributes as sa
from plugin.engine.models import PENDING, RunInput, RunState
from plugin.errors import NotFound

STATUS_NAMES = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}
# Pollers report at least once per long poll (about a minute); older than this, the worker is gone.
POLLER_FRESHNESS = timedelta(seconds=90)


async def start_run(client: Client, workflow: str, run_id: str, task_queue: str, inp: RunInput) -> str:
    """Start a run, recording who started it, from which app, and the query, as search attributes."""
    attrs = TypedSearchAttributes([
        SearchAttributePair(sa.QUERY, inp.query), SearchAttributePair(sa.STARTED_BY, inp.started_by),
        SearchAttributePair(sa.APP, inp.app),
    ])
    handle = await client.start_workflow(
        workflow, inp, id=run_id, task_queue=task_queue, search_attributes=attrs,
        memo={"input": inp.data},
    )
    return handle.id


async def describe_run(client: Client, run_id: str, state_timeout: float = 3.0) -> dict[str, Any]:
    """A run's status, input, output or error, timestamps and (when it can be read) its requests."""
    handle = client.get_workflow_handle(run_id)
    try:
        desc = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"Run {run_id} not found") from None
        raise
    memo = await desc.memo()
    attrs = desc.typed_search_attributes
    status = STATUS_NAMES.get(desc.status, "running") if desc.status else "running"
    run: dict[str, Any] = {
        "id": run_id,
        "workflow": desc.workflow_type,
        "query": attrs.get(sa.QUERY),
        "started_by": attrs.get(sa.STARTED_BY),
        "app": attrs.get(sa.APP) or None,
        "status": status,
        "input": memo.get("input"),
        "output": None,
        "error": None,
        "started_at": desc.start_time.isoformat() if desc.start_time else None,
        "ended_at": desc.close_time.isoformat() if desc.close_time else None,
        "requests": [],
        "decisions": [],
        "audit": [],
    }
    if status == "completed":
        run["output"] = await handle.result()
    elif status != "running":
        run["error"] = await _failure(handle)
    try:
        state: RunState = await handle.query("run_state", result_type=RunState,
                                             rpc_timeout=timedelta(seconds=state_timeout))
    except Exception as exc:  # a closed run whose worker is away: the rest of the answer still stands
        run["state_error"] = f"Requests and audit are unavailable: {exc}"
        return run
    run["requests"] = [dataclasses.asdict(r) for r in state.requests]
    run["decisions"] = [dict(dataclasses.asdict(d), request_id=r.id) for r in state.requests for d in r.decisions]
    run["audit"] = [dataclasses.asdict(a) for a in state.audit]
    if status == "running" and any(r.status == PENDING for r in state.requests):
        run["status"] = "waiting"
    return run


async def _failure(handle: Any) -> dict[str, Any]:
    try:
        await handle.result()
    except Exception as exc:  # the run's own failure, as the SDK reports it
        cause = exc.__cause__ or exc
        return {"type": type(cause).__name__, "message": str(cause)}
    return {"type": "Unknown", "message": "the run did not complete"}


async def task_queue_pollers(client: Client, task_queue: str) -> int:
    """How many workers polled the task queue recently."""
    response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    ))
    cutoff = datetime.now(UTC) - POLLER_FRESHNESS
    return sum(1 for p in response.pollers if p.last_access_time.ToDatetime(tzinfo=UTC) >= cutoff)
