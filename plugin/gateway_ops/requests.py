"""Temporal operations on human requests: send a decision, reassignment or cancellation as an update,
list the open runs' requests and find requests no run can settle any more (to rebuild the inbox). Run them
through the gateway."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from plugin.engine import humans
from plugin.errors import Conflict, Forbidden, NotFound, PluginError, ServiceUnavailable, ValidationFailed
from plugin.models import HumanRequest, RunState, chain_tag, parse_request_id, request_from_doc

log = logging.getLogger(__name__)

_ERROR_TYPES: dict[str, type[PluginError]] = {
    "NotFound": NotFound, "Forbidden": Forbidden, "Conflict": Conflict, "ValidationFailed": ValidationFailed,
}
# Longer than the sticky-queue fallback (5 s), so the first decision after a worker restart still lands
# within the wait instead of being answered from state while it is applied.
UPDATE_WAIT = 8.0
UPDATE_ATTEMPTS = 5
# What the server answers an update whose workflow task failed ("unexpected workflow task failure").
_TASK_FAILED = (RPCStatusCode.ABORTED, RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN, RPCStatusCode.UNAVAILABLE,
                RPCStatusCode.FAILED_PRECONDITION)
UPDATES = {"resolve": "resolve_request", "reassign": "reassign_request", "cancel": "cancel_request"}
CHECKS = {"resolve": humans.check_resolve, "reassign": humans.check_reassign, "cancel": humans.check_cancel}


def run_id_of(request_id: str) -> str:
    """The run a request belongs to; NotFound when the id is not one of ours."""
    parsed = parse_request_id(request_id)
    if parsed is None:
        raise NotFound(f"Request {request_id} not found")
    return parsed[0]


def refusal(update_name: str, request: HumanRequest | None, arg: Any) -> PluginError | None:
    """The HTTP error the update's own checks give for this request state, or None when they pass."""
    try:
        CHECKS[update_name](request, arg)
    except ApplicationError as exc:
        return _as_http_error(exc) or NotFound(f"Request {arg.request_id} not found")
    return None


def _as_http_error(exc: ApplicationError) -> PluginError | None:
    if exc.type not in _ERROR_TYPES:
        return None
    details = exc.details[0] if exc.details and isinstance(exc.details[0], dict) else {}
    return _ERROR_TYPES[exc.type](exc.message, details)


async def update_request(client: Client, update_name: str, arg: Any, wait: float = UPDATE_WAIT) -> HumanRequest:
    """Send one of the request updates; the workflow's validator answers refusals at once, typed for HTTP.

    An update that gets no answer within ``wait`` seconds (the run ended while it queued, or no worker is
    there) is answered from the run's state instead: 409 when the request was settled meanwhile, else 503.
    An update lost with a failed workflow task (the server fails the task when, say, a run cancel and the
    update land in it together) was not applied: it is sent again, and then meets the run's new state.
    """
    handle = client.get_workflow_handle(run_id_of(arg.request_id))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    for attempt in range(UPDATE_ATTEMPTS):
        try:
            # Decoded as a document: the SDK's dataclass decoding resolves the type hints of every nested class
            # on each call (about 0.1 ms of the API's CPU per decision, 10 times building from the document).
            answer = await asyncio.wait_for(handle.execute_update(UPDATES[update_name], arg, result_type=dict),
                                            max(deadline - loop.time(), 0.5))
            return request_from_doc(answer)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise await _answer_from_state(handle, update_name, arg, timed_out=True) from None
        except WorkflowUpdateFailedError as exc:
            error = _as_http_error(exc.cause) if isinstance(exc.cause, ApplicationError) else None
            if error is None:
                raise
            raise error from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                break
            if exc.status not in _TASK_FAILED or attempt == UPDATE_ATTEMPTS - 1 or loop.time() > deadline:
                raise
            log.info("update %s of %s lost with its workflow task; sending it again", update_name, arg.request_id)
            await asyncio.sleep(0.05 * (attempt + 1))
    raise await _answer_from_state(handle, update_name, arg, timed_out=False)


async def _answer_from_state(handle: Any, update_name: str, arg: Any, timed_out: bool) -> PluginError:
    """Apply the update's own checks to the run's current state for an exact answer (e.g. 409 naming who
    decided) when the workflow could not answer itself."""
    try:
        state = await handle.query("run_state", result_type=RunState, rpc_timeout=timedelta(seconds=5))
    except Exception:  # no such run, or it cannot be read now
        if timed_out:
            return ServiceUnavailable("No worker answered in time; try again", {"service": "worker"})
        return NotFound(f"Request {arg.request_id} not found")
    request = next((r for r in state.requests if r.id == arg.request_id), None)
    refused = refusal(update_name, request, arg)
    if refused is not None:
        return refused
    if timed_out:
        return ServiceUnavailable("No worker answered in time; the decision may still be applied: "
                                  "read the request before trying again", {"service": "worker"})
    return Conflict(f"Request {arg.request_id} can no longer be decided: its run has ended")


async def current_request(client: Client, request_id: str) -> HumanRequest | None:
    """The request as its run holds it now (None when the run or the request cannot be read)."""
    try:
        state = await client.get_workflow_handle(run_id_of(request_id)).query(
            "run_state", result_type=RunState, rpc_timeout=timedelta(seconds=5))
    except Exception:  # no such run, or it cannot be read now
        return None
    return next((r for r in state.requests if r.id == request_id), None)


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


async def stale_requests(client: Client, request_ids: set[str], concurrency: int = 16) -> set[str]:
    """Of these request ids, those whose run has ended, is gone, or was replaced by a new run under the same
    id (a business key): none of them can be decided any more."""
    by_run: dict[str, list[tuple[str, str]]] = {}
    for request_id in request_ids:
        parsed = parse_request_id(request_id)
        if parsed is not None:
            by_run.setdefault(parsed[0], []).append((request_id, parsed[1]))
    limit = asyncio.Semaphore(concurrency)

    async def stale_of(run_id: str, ids: list[tuple[str, str]]) -> list[str]:
        async with limit:
            try:
                desc = await client.get_workflow_handle(run_id).describe()
            except RPCError as exc:
                return [i for i, _ in ids] if exc.status == RPCStatusCode.NOT_FOUND else []
        if desc.status != WorkflowExecutionStatus.RUNNING:
            return [i for i, _ in ids]
        current = chain_tag(desc.raw_description.workflow_execution_info.first_run_id or desc.run_id)
        return [i for i, tag in ids if tag != current]

    batches = await asyncio.gather(*(stale_of(run_id, ids) for run_id, ids in by_run.items()))
    return {request_id for batch in batches for request_id in batch}
