"""Keep the run snapshot read model in step with every run, for any workflow the worker runs.

A worker interceptor publishes the snapshot when a run starts and when it completes, fails or is
cancelled (through the ``publish_run_snapshot`` local activity), and keeps the ``WorkflowsWaiting`` search
attribute true while one of the run's requests is pending (it watches the ``publish_request`` activity
that every request change goes through). Continue-as-new publishes nothing: the next run does.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    is_cancelled_exception,
)
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from plugin import search_attributes as sa
from plugin.models import PENDING, HumanRequest, RunInput
from plugin.store.inbox import Inbox, closed_out
from plugin.store.scripts import run_in_one_trip
from plugin.store.snapshots import RunSnapshots

PUBLISH_ACTIVITY = "publish_run_snapshot"
PUBLISH_TIMEOUT = timedelta(seconds=10)
REQUEST_ACTIVITY = "publish_request"
# Read-model plumbing, not steps a person cares about: the step timeline leaves them out.
INTERNAL_ACTIVITIES = (PUBLISH_ACTIVITY, REQUEST_ACTIVITY, "notify")


@dataclass
class SnapshotUpdate:
    """One version of a run's snapshot, as the worker saw it; an ended run's carries its requests too (their
    last versions may not have reached the inbox: a decision the run ended with is not waited for)."""

    doc: dict[str, Any]
    start_ms: int
    seq: int
    requests: list[HumanRequest] = field(default_factory=list)


def failure_summary(exc: BaseException) -> dict[str, Any]:
    """The innermost cause's type and message, and the step that failed: a node-based run's step id, else
    the activity or child workflow."""
    step = None
    cause: BaseException = exc
    while True:
        named = cause.details[0] if isinstance(cause, ApplicationError) and cause.details else None
        if step is None and isinstance(named, dict) and isinstance(named.get("step"), str):
            step = named["step"]  # a node-based run names the step that failed
        elif step is None and isinstance(cause, ActivityError):
            step = cause.activity_type
        elif step is None and isinstance(cause, ChildWorkflowError):
            step = cause.workflow_type
        if cause.__cause__ is None:
            break
        cause = cause.__cause__
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    return {"type": kind, "message": message or kind, "step": step}


class SnapshotActivities:
    """The activity that writes snapshots (idempotent: versioned writes)."""

    def __init__(self, snapshots: RunSnapshots, inbox: Inbox) -> None:
        self._snapshots = snapshots
        self._inbox = inbox

    @activity.defn(name=PUBLISH_ACTIVITY)
    def publish_run_snapshot(self, update: SnapshotUpdate) -> None:
        """Store the snapshot unless a newer version is there, and an ended run's requests first (one still
        pending can no longer be decided: it is stored cancelled)."""
        ended_at = update.doc.get("ended_at")
        docs = [closed_out(d, ended_at) if d["status"] == PENDING else d
                for d in (dataclasses.asdict(r) for r in update.requests)]
        # provisional: this runs before the run's closing task commits; the requests before the run, in one trip
        run_in_one_trip([*(self._inbox.put_call(doc, provisional=True) for doc in docs),
                         self._snapshots.put_call(update.doc, update.start_ms, update.seq, [d["id"] for d in docs],
                                                  request_docs=docs)])


RUNS_ENDED = "workflows_runs_ended"


class RunSnapshotInterceptor(Interceptor):
    """Install on the worker: ``Worker(..., interceptors=[RunSnapshotInterceptor()])``."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _SnapshotInbound


def _doc(status: str, **extra: Any) -> dict[str, Any]:
    info = workflow.info()
    attrs = info.typed_search_attributes
    state = getattr(workflow.instance(), "run_state", None)
    audit = [dataclasses.asdict(a) for a in state().audit] if callable(state) else []
    return {
        "id": info.workflow_id, "temporal_run_id": info.run_id, "chain": info.first_execution_run_id,
        "workflow": info.workflow_type,
        "query": attrs.get(sa.QUERY), "started_by": attrs.get(sa.STARTED_BY), "app": attrs.get(sa.APP) or None,
        "retry_of": attrs.get(sa.RETRY_OF), "status": status, "input": workflow.memo_value("input", None),
        "definition_version": workflow.memo_value("definition_version", None), "output": None, "error": None,
        "origin": workflow.memo_value("origin", None),
        "started_at": info.workflow_start_time.isoformat(), "ended_at": None, "audit": audit, **extra,
    }


def _requests(status: str) -> list[HumanRequest]:
    """An ended run's requests as it holds them (none for an open run: its requests publish themselves)."""
    state = getattr(workflow.instance(), "run_state", None)
    if status in ("running", "waiting") or not callable(state):
        return []
    return list(state().requests)


async def _publish(status: str, **extra: Any) -> None:
    info = workflow.info()
    if status not in ("running", "waiting"):
        extra["ended_at"] = workflow.now().isoformat()
        # the SDK's metric meter records nothing while replaying, so each end is counted once
        workflow.metric_meter().create_counter(RUNS_ENDED, "Runs that ended, by query and status").add(
            1, {"query": str(info.typed_search_attributes.get(sa.QUERY) or ""), "status": status})
    update = SnapshotUpdate(doc=_doc(status, **extra), start_ms=int(info.workflow_start_time.timestamp() * 1000),
                            seq=info.get_current_history_length(), requests=_requests(status))
    await workflow.execute_local_activity(PUBLISH_ACTIVITY, update, start_to_close_timeout=PUBLISH_TIMEOUT)


class _SnapshotInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        self._waiting = _WaitingOutbound(outbound)
        super().init(self._waiting)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        choose = getattr(workflow.instance(), "choose_read_model_mode", None)
        if callable(choose):  # before any command: see PluginWorkflow.choose_read_model_mode
            choose(input.args[0] if input.args and isinstance(input.args[0], RunInput) else None)
        await _publish("running")
        try:
            result = await super().execute_workflow(input)
        except BaseException as exc:
            if isinstance(exc, FailureError) or (
                    workflow.cancellation_reason() is not None and is_cancelled_exception(exc)):
                self._ending()
            # the same rule the SDK applies: a cancellation after a cancel request ends the run cancelled
            if workflow.cancellation_reason() is not None and is_cancelled_exception(exc):
                note = getattr(workflow.instance(), "note_run_cancelled", None)
                if callable(note):  # state only, no command: replays the same
                    note()
                await _publish("cancelled", error={"type": "CancelledError", "message": "the run was cancelled",
                                                   "step": None})
            elif isinstance(exc, FailureError):  # the run fails (other exceptions fail the task, retried)
                await _publish("failed", error=failure_summary(exc))
            raise  # continue-as-new and eviction publish nothing: the next run, or the replay, does
        self._ending()
        await _publish("completed", output=result)
        return result

    def _ending(self) -> None:
        """The run ends in this task: its unsent request writes are dropped and nothing is flipped (in runs that
        write requests in the background; state only, so it replays the same)."""
        drop = getattr(workflow.instance(), "drop_unsent_publishes", None)
        if callable(drop) and drop():
            self._waiting.close()


class _WaitingOutbound(WorkflowOutboundInterceptor):
    """Flip ``WorkflowsWaiting`` as requests open and settle, so run history can filter ``waiting``.

    The flip is made once the request's publish activity is done, in a later workflow task: an upsert in the
    task that completes a decision update would delay the update's answer (about 14 ms on the dev server).
    """

    def __init__(self, next: WorkflowOutboundInterceptor) -> None:
        super().__init__(next)
        self._pending: set[str] = set()
        self._flagged = False
        self._closing = False

    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle:
        handle = super().start_activity(input)
        if input.activity == REQUEST_ACTIVITY and input.args and isinstance(input.args[0], HumanRequest):
            request: HumanRequest = input.args[0]
            if request.status == PENDING:
                self._pending.add(request.id)
            else:
                self._pending.discard(request.id)
            if bool(self._pending) != self._flagged:
                handle.add_done_callback(lambda _done: self._sync())
        return handle

    def close(self) -> None:
        """The run ends in this workflow task: nothing to flip for a closed run."""
        self._closing = True

    def _sync(self) -> None:
        waiting = bool(self._pending)
        if waiting != self._flagged and not self._closing:
            self._flagged = waiting
            workflow.upsert_search_attributes([sa.WAITING.value_set(waiting)])
