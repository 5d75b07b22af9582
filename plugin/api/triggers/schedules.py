"""Schedules: run a query on a cron (in a time zone) or an interval, on Temporal Schedules (admin key).

Each scheduled run is an ordinary run in history, ``started_by: schedule:<id>``. Schedules fire with no
plugin process up and survive restarts; they can be edited, paused and resumed with a note, triggered now,
backfilled over a past time range, and deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import RAISE

from plugin.api.http.auth import actor_name, authenticate
from plugin.api.openapi.errors import common_errors
from plugin.api.services import services
from plugin.api.triggers.schedule_schemas import (
    AcceptedSchema,
    BackfillBody,
    NoteBody,
    ScheduleCreateBody,
    ScheduleListArgs,
    ScheduleListSchema,
    SchedulePatchBody,
    ScheduleSchema,
    TriggerNowBody,
)
from plugin.errors import NotFound, ValidationFailed
from plugin.gateway_ops import schedules as ops
from plugin.store.admin.settings_audit import SettingsAudit
from plugin.workspace.schedules import (
    ORIGIN_API,
    complete_spec,
    due_times_over,
    load_spec,
    plan_for,
    spec_document,
)

bp = Blueprint("schedules", __name__, url_prefix="/api/v1/schedules",
               description="Schedules of queries (Temporal Schedules; admin key)")

RECENT_SHOWN = 5
MAX_BACKFILL_RUNS = 500
_NOT_SPEC = ("origin", "digest", "paused", "note")


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _call(fn: Any) -> Any:
    return services().gateway.call(fn)


def _task_queue() -> str:
    return services().settings.task_queue


def _with_statuses(view: dict[str, Any]) -> dict[str, Any]:
    """The recent runs with their status now (from the run read model), newest first."""
    recent = []
    for run in view.get("recent_runs", [])[:RECENT_SHOWN]:
        try:
            status = services().runs.read(run["run_id"])["status"] if run.get("run_id") else None
        except NotFound:
            status = None
        recent.append({**run, "status": status})
    return {**view, "recent_runs": recent}


def _view(schedule_id: str) -> dict[str, Any]:
    tq = _task_queue()
    return _with_statuses(_call(lambda c: ops.describe_schedule(c, schedule_id, tq)))


def _audited(action: str, schedule_id: str, changes: dict[str, Any] | None = None) -> None:
    """Record the change in the settings audit."""
    SettingsAudit(services().redis).record(actor_name(), action, f"schedule:{schedule_id}", changes)


def _plan(schedule_id: str, spec: dict[str, Any], origin: str) -> ops.SchedulePlan:
    query = services().workspace.queries[spec["query"]]
    return plan_for(schedule_id, spec_document(spec), query, _task_queue(), origin)


_ADMIN_ERRORS = {401: "No valid API key", 403: "Not an admin key", 503: "Temporal or Redis unavailable"}


_errors = common_errors(bp, _ADMIN_ERRORS)


_MISSING = (404, "No such schedule")
_INVALID = (422, "Invalid body: each bad field named (cron, time_zone, input.<field>...)")


@bp.route("")
@bp.arguments(ScheduleListArgs, location="query", unknown=RAISE)
@bp.response(200, ScheduleListSchema)
@_errors((422, "Bad limit"))
def list_schedules(args: dict[str, Any]):
    """Every schedule with its next run times and its recent runs (with their status)."""
    tq = _task_queue()
    views = _call(lambda c: ops.list_schedules(c, tq, args["limit"]))
    return {"schedules": [_with_statuses(v) for v in views]}


@bp.route("", methods=["POST"])
@bp.arguments(ScheduleCreateBody)
@bp.response(201, ScheduleSchema)
@_errors((409, "The id is taken"), _INVALID)
def create_schedule(body: dict[str, Any]):
    """Create a schedule: a query and its input, on a cron with a time zone or an interval."""
    schedule_id = body.pop("id", None) or f"{body['query']}-{uuid.uuid4().hex[:8]}"
    plan = _plan(schedule_id, complete_spec(body, services().workspace.queries), ORIGIN_API)
    _call(lambda c: ops.create_schedule(c, plan))
    _audited("schedule_created", schedule_id, {"query": plan.spec["query"]})
    return _view(schedule_id)


@bp.route("/<schedule_id>")
@bp.response(200, ScheduleSchema)
@_errors(_MISSING)
def get_schedule(schedule_id: str):
    """One schedule, with its next run times and recent runs."""
    return _view(schedule_id)


@bp.route("/<schedule_id>", methods=["PATCH"])
@bp.arguments(SchedulePatchBody)
@bp.response(200, ScheduleSchema)
@_errors(_MISSING, _INVALID)
def update_schedule(body: dict[str, Any], schedule_id: str):
    """Change a schedule (query, input, timing, overlap...); its paused state and note stay."""
    tq = _task_queue()
    current = _call(lambda c: ops.describe_schedule(c, schedule_id, tq))
    raw = request.get_json()  # as sent: null clears a field (switching between cron and interval)
    spec = {k: current[k] for k in ("query", "input", "cron", "time_zone", "interval_seconds", "overlap",
                                    "start_at", "end_at", "jitter_seconds") if current.get(k) is not None}
    spec.update({k: raw[k] for k in body})
    spec = {k: v for k, v in spec.items() if v is not None}
    plan = _plan(schedule_id, load_spec(spec, services().workspace.queries), current.get("origin") or ORIGIN_API)
    _call(lambda c: ops.update_schedule(c, plan))
    _audited("schedule_updated", schedule_id, {"fields": sorted(body)})
    return _view(schedule_id)


@bp.route("/<schedule_id>", methods=["DELETE"])
@bp.response(204)
@_errors(_MISSING)
def delete_schedule(schedule_id: str):
    """Delete a schedule; runs it started go on."""
    tq = _task_queue()
    _call(lambda c: ops.delete_schedule(c, schedule_id, tq))
    _audited("schedule_deleted", schedule_id)
    return None


def _pause(schedule_id: str, paused: bool, note: str) -> dict[str, Any]:
    tq = _task_queue()
    note = note or f"{'Paused' if paused else 'Resumed'} by {actor_name()}"
    _call(lambda c: ops.pause_schedule(c, schedule_id, tq, paused, note))
    _audited("schedule_paused" if paused else "schedule_resumed", schedule_id, {"note": note})
    return _view(schedule_id)


@bp.route("/<schedule_id>/pause", methods=["POST"])
@bp.arguments(NoteBody)
@bp.response(200, ScheduleSchema)
@_errors(_MISSING)
def pause_schedule(body: dict[str, Any], schedule_id: str):
    """Pause: no runs start until it is resumed. The note says why."""
    return _pause(schedule_id, True, body["note"])


@bp.route("/<schedule_id>/resume", methods=["POST"])
@bp.arguments(NoteBody)
@bp.response(200, ScheduleSchema)
@_errors(_MISSING)
def resume_schedule(body: dict[str, Any], schedule_id: str):
    """Resume a paused schedule."""
    return _pause(schedule_id, False, body["note"])


@bp.route("/<schedule_id>/trigger", methods=["POST"])
@bp.arguments(TriggerNowBody)
@bp.response(202, AcceptedSchema)
@_errors(_MISSING, (422, "Bad overlap"))
def trigger_schedule(body: dict[str, Any], schedule_id: str):
    """Start one run now (it shows in recent_runs and in run history)."""
    tq = _task_queue()
    _call(lambda c: ops.trigger_schedule(c, schedule_id, tq, body["overlap"]))
    _audited("schedule_triggered", schedule_id)
    return {"schedule_id": schedule_id, "accepted": True, "message": "A run starts now"}


@bp.route("/<schedule_id>/backfill", methods=["POST"])
@bp.arguments(BackfillBody)
@bp.response(202, AcceptedSchema)
@_errors(_MISSING, (422, f"Bad time range or overlap, or more than {MAX_BACKFILL_RUNS} runs in the range"))
def backfill_schedule(body: dict[str, Any], schedule_id: str):
    """Start the runs the schedule would have started between start_at and end_at."""
    tq = _task_queue()
    current = _call(lambda c: ops.describe_schedule(c, schedule_id, tq))
    if due_times_over(current, body["start_at"], body["end_at"], MAX_BACKFILL_RUNS):
        raise ValidationFailed(f"Invalid input: end_at: the range holds more than {MAX_BACKFILL_RUNS} runs of this "
                               "schedule; backfill a shorter range at a time",
                               {"fields": {"end_at": [f"More than {MAX_BACKFILL_RUNS} runs in the range."]}})
    _call(lambda c: ops.backfill_schedule(c, schedule_id, tq, body["start_at"], body["end_at"], body["overlap"]))
    _audited("schedule_backfilled", schedule_id, {"start_at": body["start_at"].isoformat(),
                                                  "end_at": body["end_at"].isoformat()})
    return {"schedule_id": schedule_id, "accepted": True,
            "message": f"Runs due from {body['start_at'].isoformat()} to {body['end_at'].isoformat()} start now"}
