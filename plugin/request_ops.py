"""Temporal operations on human requests: send a decision, reassignment or cancellation as an update,
and list the open runs' requests (to rebuild the inbox). Run them through the gateway."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from plugin.engine import humans
from plugin.engine.models import HumanRequest, RunState
from plugin.errors import Conflict, Forbidden, NotFound, PluginError, ValidationFailed

_ERROR_TYPES: dict[str, type[PluginError]] = {
    "NotFound": NotFound, "Forbidden": Forbidden, "Conflict": Conflict, "ValidationFailed": ValidationFailed,
}
UPDATES = {"resolve": "resolve_request", "reassign": "reassign_request", "cancel": "cancel_request"}
CHECKS = {"resolve": humans.check_resolve, "reassign": humans.check_reassign, "cancel": humans.check_cancel}


def run_id_of(request_id: str) -> str:
    """The run a request belongs to (request ids are ``{run_id}:{n}``); NotFound when it is not one."""
    run_id, sep, seq = request_id.rpartition(":")
    if not sep or not run_id or not seq.isdigit():
        raise NotFound(f"Request {request_id} not found")
    return run_id


def _as_http_error(exc: ApplicationError) -> PluginError | None:
    if exc.type not in _ERROR_TYPES:
        return None
    details = exc.details[0] if exc.details and isinstance(exc.details[0], dict) else {}
    return _ERROR_TYPES[exc.type](exc.message, details)


async def update_request(client: Client, update_name: str, arg: Any) -> HumanRequest:
    """Send one of the request updates; the workflow's validator answers refusals at once, typed for HTTP."""
    handle = client.get_workflow_handle(run_id_of(arg.request_id))
    try:
        return await handle.execute_update(UPDATES[update_name], arg, result_type=HumanRequest)
    except WorkflowUpdateFailedError as exc:
        error = _as_http_error(exc.cause) if isinstance(exc.cause, ApplicationError) else None
        if error is None:
            raise
        raise error from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    raise await _refusal_for_ended_run(handle, update_name, arg)


async def _refusal_for_ended_run(handle: Any, update_name: str, arg: Any) -> PluginError:
    """The run has ended (or never was): apply the same checks to its final state for an exact answer,
    e.g. 409 naming who decided, rather than a bare 404."""
    try:
        state = await handle.query("run_state", result_type=RunState, rpc_timeout=timedelta(seconds=10))
    except Exception:  # no such run, or it cannot be read: the request is unknown to the caller
        return NotFound(f"Request {arg.request_id} not found")
    request = next((r for r in state.requests if r.id == arg.request_id), None)
    try:
        CHECKS[update_name](request, arg)
    except ApplicationError as refusal:
        return _as_http_error(refusal) or NotFound(f"Request {arg.request_id} not found")
    return Conflict(f"Request {arg.request_id} can no longer be decided: its run has ended")


async def open_run_requests(client: Client, task_queue: str, concurrency: int = 16,
                            query_timeout: float = 10.0) -> list[HumanRequest]:
    """Every request held by the open runs on the task queue, read from the workflows themselves."""
    run_ids = [wf.id async for wf in client.list_workflows(
        f"ExecutionStatus = 'Running' AND TaskQueue = '{task_queue}'")]
    limit = asyncio.Semaphore(concurrency)

    async def requests_of(run_id: str) -> list[HumanRequest]:
        async with limit:
            try:
                state = await client.get_workflow_handle(run_id).query(
                    "run_state", result_type=RunState, rpc_timeout=timedelta(seconds=query_timeout))
            except Exception:  # a run that is not a plugin workflow, or ended meanwhile, has nothing to add
                return []
            return state.requests

    batches = await asyncio.gather(*(requests_of(run_id) for run_id in run_ids))
    return [request for batch in batches for request in batch]
