"""Start, wait for, describe and cancel runs."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import CancelledError, TerminatedError, WorkflowAlreadyStartedError
from temporalio.exceptions import TimeoutError as TemporalTimeout
from temporalio.service import RPCError, RPCStatusCode

from plugin import metrics
from plugin import search_attributes as sa
from plugin.engine.run_snapshots import failure_summary
from plugin.errors import NotFound
from plugin.models import HumanRequest, RunInput, RunState

STATUS_NAMES = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}
OPEN = ("running", "waiting")


@dataclass(frozen=True)
class StartSpec:
    """What to start: the workflow, its id and input, and how a taken id is treated."""

    workflow: str
    run_id: str
    task_queue: str
    inp: RunInput
    memo: dict[str, Any] = field(default_factory=dict)
    # An id derived from an Idempotency-Key (or a retry) never starts a second run, even after the first ended.
    unique_id: bool = False
    execution_timeout: timedelta | None = None
    retry_of: str | None = None


@dataclass(frozen=True)
class StartResult:
    """The run id and whether this call started it (False: an existing run with that id was returned; with
    ``ended``, a unique id whose run has ended, which was not started again)."""

    run_id: str
    started: bool
    temporal_run_id: str | None = None
    ended: bool = False


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended (or, with ``responded``, what its ``respond`` step answered while it goes on)."""

    status: str
    output: Any = None
    error: dict[str, Any] | None = None
    http_status: int = 200


@dataclass
class DescribedRun:
    """A run as Temporal tells it: the snapshot-shaped doc, its version and its requests."""

    doc: dict[str, Any]
    start_ms: int
    seq: int
    requests: list[HumanRequest] | None


async def start_run(client: Client, spec: StartSpec) -> StartResult:
    """Start a run (an open run with the same id is returned instead), with the search attributes that
    run history filters on."""
    pairs = [
        SearchAttributePair(sa.QUERY, spec.inp.query), SearchAttributePair(sa.STARTED_BY, spec.inp.started_by),
        SearchAttributePair(sa.APP, spec.inp.app), SearchAttributePair(sa.WAITING, False),
    ]
    if spec.retry_of:
        pairs.append(SearchAttributePair(sa.RETRY_OF, spec.retry_of))
    reuse = WorkflowIDReusePolicy.REJECT_DUPLICATE if spec.unique_id else WorkflowIDReusePolicy.ALLOW_DUPLICATE
    try:
        handle = await client.start_workflow(
            spec.workflow, spec.inp, id=spec.run_id, task_queue=spec.task_queue,
            search_attributes=TypedSearchAttributes(pairs), memo={"input": spec.inp.data, **spec.memo},
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, id_reuse_policy=reuse,
            execution_timeout=spec.execution_timeout,
        )
    except WorkflowAlreadyStartedError:  # a unique id whose run has ended: that run is the answer
        return StartResult(run_id=spec.run_id, started=False, ended=True)
    response = getattr(handle, "_start_workflow_response", None)  # the SDK keeps the server's answer here
    started = bool(response.started) if response is not None else True
    if started:
        metrics.RUNS_STARTED.labels(spec.inp.query).inc()
    return StartResult(run_id=handle.id, started=started, temporal_run_id=handle.result_run_id)


def _ending(exc: WorkflowFailureError) -> RunOutcome:
    cause = exc.cause
    status = ("cancelled" if isinstance(cause, CancelledError) else "terminated" if isinstance(cause, TerminatedError)
              else "timed_out" if isinstance(cause, TemporalTimeout) else "failed")
    return RunOutcome(status=status, error=failure_summary(cause))


RESPOND_POLL = 0.1


async def wait_for_outcome(client: Client, run_id: str, seconds: float,
                           watch_respond: bool = False) -> RunOutcome | None:
    """The run's outcome if it ends within ``seconds``, else None.

    With ``watch_respond`` (node-based runs) a ``respond`` step's answer also ends the wait: status
    ``responded``, its body as output, while the run goes on.
    """
    handle = client.get_workflow_handle(run_id)
    result = asyncio.ensure_future(handle.result())
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            done, _ = await asyncio.wait({result}, timeout=min(remaining, RESPOND_POLL) if watch_respond else remaining)
            if done:
                try:
                    return RunOutcome(status="completed", output=result.result())
                except WorkflowFailureError as exc:
                    return _ending(exc)
            if watch_respond:
                answered = await _responded(handle)
                if answered is not None:
                    return answered
        return None
    finally:
        result.cancel()


async def responded(client: Client, run_id: str) -> RunOutcome | None:
    """A node-based run's ``respond`` answer (status ``responded``) if a respond step has run, else None."""
    return await _responded(client.get_workflow_handle(run_id))


async def _responded(handle: Any) -> RunOutcome | None:
    try:
        answer = await handle.query("respond_value", rpc_timeout=timedelta(seconds=2))
    except Exception:  # not answering yet (no worker, or the run is between tasks): keep waiting
        return None
    if not answer.get("responded"):
        return None
    return RunOutcome(status="responded", output=answer.get("body"), http_status=int(answer.get("status") or 200))


async def describe_run(client: Client, run_id: str, with_state: bool = True,
                       state_timeout: float = 3.0) -> DescribedRun:
    """The run as Temporal has it; its requests and audit from the ``run_state`` query when it answers."""
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
    doc: dict[str, Any] = {
        "id": run_id, "temporal_run_id": desc.run_id,
        "chain": desc.raw_description.workflow_execution_info.first_run_id or desc.run_id,
        "workflow": desc.workflow_type,
        "query": attrs.get(sa.QUERY), "started_by": attrs.get(sa.STARTED_BY), "app": attrs.get(sa.APP) or None,
        "retry_of": attrs.get(sa.RETRY_OF), "status": status, "input": memo.get("input"),
        "definition_version": memo.get("definition_version"), "output": None, "error": None,
        "origin": memo.get("origin"),
        "started_at": desc.start_time.isoformat() if desc.start_time else None,
        "ended_at": desc.close_time.isoformat() if desc.close_time else None, "audit": [],
    }
    if status == "completed":
        doc["output"] = await handle.result(follow_runs=False)
    elif status not in OPEN:
        try:
            await handle.result(follow_runs=False)
        except WorkflowFailureError as exc:
            doc["error"] = _ending(exc).error
    info = desc.raw_description.workflow_execution_info
    described = DescribedRun(doc=doc, start_ms=int(desc.start_time.timestamp() * 1000),
                             seq=info.history_length, requests=None)
    if with_state:
        try:
            state: RunState = await handle.query("run_state", result_type=RunState,
                                                 rpc_timeout=timedelta(seconds=state_timeout))
        except Exception as exc:  # not a plugin workflow, or its worker is away: the rest still stands
            doc["state_error"] = f"Requests and audit are unavailable: {getattr(exc, 'message', exc)}"
        else:
            described.requests = list(state.requests)
            doc["audit"] = [dataclasses.asdict(a) for a in state.audit]
    return described


async def cancel_run(client: Client, run_id: str, wait_seconds: float) -> RunOutcome | None:
    """Ask the run to cancel (it gets CancelledError and may clean up); its outcome if it ends in time."""
    handle = client.get_workflow_handle(run_id)
    try:
        await handle.cancel()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # ended meanwhile: its outcome is the answer
            return await wait_for_outcome(client, run_id, wait_seconds)
        raise
    return await wait_for_outcome(client, run_id, wait_seconds)


async def retries_of(client: Client, run_id: str, task_queue: str, limit: int = 20) -> list[str]:
    """Ids of the runs that retry this one (visibility may lag a second behind)."""
    if any(c in run_id for c in "'\"\\"):  # such an id was never made by this API, so nothing retries it
        return []
    query = f"TaskQueue = '{task_queue}' AND {sa.RETRY_OF.name} = '{run_id}'"
    it = client.list_workflows(query, page_size=limit)
    await it.fetch_next_page(page_size=limit)
    return [w.id for w in (it.current_page or [])]


async def _bounded(items: list[Any], action: Any, concurrency: int) -> list[Any]:
    """``action(item)`` for each item, ``concurrency`` at a time; an item's exception is its result."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Any:
        async with gate:
            try:
                return await action(item)
            except Exception as exc:  # one run's failure is reported, the others go on
                return exc
    return await asyncio.gather(*(one(i) for i in items))


async def cancel_many(client: Client, run_ids: list[str], concurrency: int = 16) -> list[Exception | None]:
    """Ask each run to cancel; None or the exception, per run."""
    return await _bounded(run_ids, lambda run_id: client.get_workflow_handle(run_id).cancel(), concurrency)


async def describe_many(client: Client, run_ids: list[str], concurrency: int = 16) -> list[DescribedRun | Exception]:
    """Describe each run (without its requests)."""
    return await _bounded(run_ids, lambda run_id: describe_run(client, run_id, with_state=False), concurrency)


async def start_many(client: Client, specs: list[StartSpec], concurrency: int = 16) -> list[StartResult | Exception]:
    """Start each run."""
    return await _bounded(specs, lambda spec: start_run(client, spec), concurrency)
