"""The step timeline of a run, read from its whole history (every page, every run of a continue-as-new chain).

Steps are activities, timers and child workflows; the API adds the run's human requests. The plugin's
read-model activities and local-activity markers are plumbing and are left out. Node-based runs are told by
their definition's own steps instead (``node_steps``).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from plugin.engine.run_snapshots import INTERNAL_ACTIVITIES
from plugin.errors import NotFound

MAX_CHAIN = 50  # runs of a continue-as-new chain read at most

_ACTIVITY_END = {
    "activity_task_completed_event_attributes": "completed",
    "activity_task_failed_event_attributes": "failed",
    "activity_task_timed_out_event_attributes": "timed_out",
    "activity_task_canceled_event_attributes": "cancelled",
}
_CHILD_END = {
    "child_workflow_execution_completed_event_attributes": "completed",
    "child_workflow_execution_failed_event_attributes": "failed",
    "child_workflow_execution_canceled_event_attributes": "cancelled",
    "child_workflow_execution_timed_out_event_attributes": "timed_out",
    "child_workflow_execution_terminated_event_attributes": "terminated",
}


def _time(event: HistoryEvent) -> str:
    return event.event_time.ToDatetime(tzinfo=UTC).isoformat()


def _step(name: str, kind: str, event: HistoryEvent, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": kind, "status": "scheduled", "started_at": _time(event), "ended_at": None,
            "attempts": 0, "error": None, **extra}


def _failure_message(attrs: Any) -> str | None:
    """The failure an end event carries, if its kind has one (a completed activity's attributes have no
    ``failure`` field at all, and ``HasField`` raises for a field the message does not declare)."""
    if "failure" not in attrs.DESCRIPTOR.fields_by_name or not attrs.HasField("failure"):
        return None
    return attrs.failure.cause.message or attrs.failure.message


def steps_of(events: list[HistoryEvent]) -> list[dict[str, Any]]:
    """Steps of one run's history, in the order they began."""
    steps: list[dict[str, Any]] = []
    by_event: dict[int, dict[str, Any]] = {}
    timers: dict[str, dict[str, Any]] = {}
    for event in events:
        which = event.WhichOneof("attributes")
        if which is None:
            continue
        attrs = getattr(event, which)
        if which == "activity_task_scheduled_event_attributes":
            if attrs.activity_type.name in INTERNAL_ACTIVITIES:
                continue
            by_event[event.event_id] = _step(attrs.activity_type.name, "activity", event, step_id=attrs.activity_id)
            steps.append(by_event[event.event_id])
        elif which == "activity_task_started_event_attributes":
            if (step := by_event.get(attrs.scheduled_event_id)) is not None:
                step.update(status="running", attempts=attrs.attempt)
                if attrs.HasField("last_failure"):
                    step["error"] = attrs.last_failure.message
        elif which in _ACTIVITY_END:
            if (step := by_event.get(attrs.scheduled_event_id)) is not None:
                step.update(status=_ACTIVITY_END[which], ended_at=_time(event), attempts=max(step["attempts"], 1))
                if (error := _failure_message(attrs)) is not None:
                    step["error"] = error
        elif which == "timer_started_event_attributes":
            seconds = attrs.start_to_fire_timeout.ToTimedelta().total_seconds()
            timers[attrs.timer_id] = _step(f"wait {seconds:g}s", "timer", event, status="running",
                                           step_id=attrs.timer_id)
            steps.append(timers[attrs.timer_id])
        elif which in ("timer_fired_event_attributes", "timer_canceled_event_attributes"):
            if (step := timers.get(attrs.timer_id)) is not None:
                step.update(status="completed" if which.startswith("timer_fired") else "cancelled",
                            ended_at=_time(event))
        elif which == "start_child_workflow_execution_initiated_event_attributes":
            by_event[event.event_id] = _step(attrs.workflow_type.name, "child", event, step_id=attrs.workflow_id)
            steps.append(by_event[event.event_id])
        elif which == "child_workflow_execution_started_event_attributes":
            if (step := by_event.get(attrs.initiated_event_id)) is not None:
                step.update(status="running", attempts=1)
        elif which == "start_child_workflow_execution_failed_event_attributes":
            if (step := by_event.get(attrs.initiated_event_id)) is not None:
                step.update(status="failed", ended_at=_time(event), error="the child workflow could not start")
        elif which in _CHILD_END:
            if (step := by_event.get(attrs.initiated_event_id)) is not None:
                step.update(status=_CHILD_END[which], ended_at=_time(event))
                if (error := _failure_message(attrs)) is not None:
                    step["error"] = error
    return steps


async def run_steps(client: Client, run_id: str) -> list[dict[str, Any]]:
    """Steps of the run's latest execution and of the runs it continued from, oldest first."""
    chain: list[list[HistoryEvent]] = []
    temporal_run_id: str | None = None
    for _ in range(MAX_CHAIN):
        handle = client.get_workflow_handle(run_id, run_id=temporal_run_id)
        try:
            events = [event async for event in handle.fetch_history_events()]
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and not chain:
                raise NotFound(f"Run {run_id} not found") from None
            if exc.status == RPCStatusCode.NOT_FOUND:  # an earlier run of the chain is past retention
                break
            raise
        chain.insert(0, events)
        started = events[0].workflow_execution_started_event_attributes if events else None
        temporal_run_id = started.continued_execution_run_id if started is not None else ""
        if not temporal_run_id:
            break
    return [step for events in chain for step in steps_of(events)]


async def node_steps(client: Client, run_id: str) -> list[dict[str, Any]]:
    """A node-based run's steps as its definition names them (id, kind, loop iteration), from the
    interpreter's ``step_timeline`` query."""
    records = await client.get_workflow_handle(run_id).query("step_timeline", rpc_timeout=timedelta(seconds=10))
    steps = []
    for record in records:
        error = record.get("error") or None
        iteration = record.get("iteration")
        steps.append({
            "name": record["name"], "kind": record["kind"], "status": record["status"],
            "step_id": record["step"] if iteration is None else f"{record['step']}[{iteration}]",
            "started_at": record["started_at"], "ended_at": record.get("ended_at"),
            "attempts": record.get("attempts", 0),
            "error": (error.get("message") or str(error)) if isinstance(error, dict) else error,
        })
    return steps
