"""Marshmallow schemas of the schedules API (bodies and the schedule resource, for OpenAPI too)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plugin.api.schemas import StrictSchema
from plugin.workspace.schedules import OVERLAP_POLICIES, SCHEDULE_ID, SCHEDULE_ID_RULE, ScheduleFields

_ID = fields.String(validate=validate.Regexp(SCHEDULE_ID, error=f"An id is {SCHEDULE_ID_RULE}."),
                    metadata={"description": "Your name for it (made from the query when left out)"})


class ScheduleCreateBody(ScheduleFields):
    id = _ID


class SchedulePatchBody(StrictSchema):
    """Fields to change; the others keep their values. Pause and resume have their own endpoints."""

    query = fields.String()
    input = fields.Dict()
    cron = fields.String(allow_none=True, metadata={"description": "null to switch to interval_seconds"})
    time_zone = fields.String()
    interval_seconds = fields.Integer(allow_none=True, metadata={"description": "null to switch to cron"})
    overlap = fields.String()
    start_at = fields.String(allow_none=True)
    end_at = fields.String(allow_none=True)
    jitter_seconds = fields.Integer()


class NoteBody(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=500),
                         metadata={"description": "Why (shown with the schedule)"})


class TriggerNowBody(StrictSchema):
    overlap = fields.String(load_default="allow_all", validate=validate.OneOf(OVERLAP_POLICIES),
                            metadata={"description": "If a run is still running (default: start anyway)"})


class BackfillBody(StrictSchema):
    start_at = fields.AwareDateTime(required=True)
    end_at = fields.AwareDateTime(required=True)
    overlap = fields.String(load_default="buffer_all", validate=validate.OneOf(OVERLAP_POLICIES),
                            metadata={"description": "Default: every missed run, one after another"})

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data["end_at"] <= data["start_at"]:
            raise ValidationError("end_at must be after start_at.", "end_at")


class ScheduleListArgs(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class RecentRunSchema(Schema):
    run_id = fields.String(allow_none=True)
    scheduled_at = fields.String()
    started_at = fields.String()
    status = fields.String(allow_none=True, metadata={"description": "The run's status now"})


class ScheduleSchema(Schema):
    id = fields.String()
    query = fields.String()
    input = fields.Dict()
    cron = fields.String()
    time_zone = fields.String()
    interval_seconds = fields.Integer()
    overlap = fields.String()
    start_at = fields.String(allow_none=True)
    end_at = fields.String(allow_none=True)
    jitter_seconds = fields.Integer()
    paused = fields.Boolean()
    note = fields.String()
    origin = fields.String(metadata={"description": "api, or workspace (declared in workspace.json)"})
    next_runs = fields.List(fields.String(), metadata={"description": "The next run times (up to 5)"})
    recent_runs = fields.List(fields.Nested(RecentRunSchema), metadata={"description": "Newest first"})
    running = fields.List(fields.String())
    runs_started = fields.Integer()
    created_at = fields.String()
    updated_at = fields.String(allow_none=True)


class ScheduleListSchema(Schema):
    schedules = fields.List(fields.Nested(ScheduleSchema))


class AcceptedSchema(Schema):
    schedule_id = fields.String()
    accepted = fields.Boolean()
    message = fields.String()
