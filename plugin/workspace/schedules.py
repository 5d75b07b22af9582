"""Schedules as the plugin describes them: a query, its input, and when (cron in a time zone, or an interval).

One marshmallow schema validates a schedule wherever it comes from (the API, or ``schedules`` in
workspace.json), so both say the same thing about a bad cron expression, an unknown time zone or input
that fails the query's schema. ``plan_for`` turns a valid schedule into what Temporal is asked to run:
an ordinary run of the query, ``started_by: schedule:<id>``.

In workspace.json::

    "schedules": {"nightly-digest": {"query": "send_digest", "input": {}, "cron": "0 6 * * 1-5",
                                     "time_zone": "Europe/Paris", "overlap": "skip", "note": "..."}}
"""

from __future__ import annotations

import hashlib
import json
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from croniter import CroniterBadDateError, croniter
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from plugin.engine.interpreter.validate import Problem
from plugin.errors import ValidationFailed, validation_details
from plugin.models import RunInput
from plugin.workspace.cron_grammar import cron_problem
from plugin.workspace.definitions import pinned

OVERLAP_POLICIES = ("skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all")
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
SCHEDULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
SCHEDULE_ID_RULE = "1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit"
ORIGIN_API = "api"
ORIGIN_WORKSPACE = "workspace"


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ScheduleFields(Schema):
    """A schedule: what to run and when. Exactly one of ``cron`` and ``interval_seconds``."""

    class Meta:
        unknown = RAISE

    query = fields.String(required=True, metadata={"description": "The query to run"})
    input = fields.Dict(load_default=dict, metadata={"description": "The run's input (the query's schema)"})
    cron = fields.String(metadata={"description": "5-field cron (minute hour day month weekday) or @daily..."})
    time_zone = fields.String(load_default="UTC", metadata={"description": "IANA time zone of the cron, e.g. "
                                                                          "Europe/Paris"})
    interval_seconds = fields.Integer(validate=validate.Range(min=1, max=366 * 86400),
                                      metadata={"description": "Every N seconds (instead of cron)"})
    overlap = fields.String(load_default="skip", validate=validate.OneOf(OVERLAP_POLICIES),
                            metadata={"description": "If the previous run still runs: " + ", ".join(OVERLAP_POLICIES)})
    start_at = fields.AwareDateTime(allow_none=True, load_default=None, metadata={"description": "No runs before"})
    end_at = fields.AwareDateTime(allow_none=True, load_default=None, metadata={"description": "No runs after"})
    jitter_seconds = fields.Integer(load_default=0, validate=validate.Range(min=0, max=86400),
                                    metadata={"description": "Start each run up to this late, at random"})
    note = fields.String(load_default="", validate=validate.Length(max=500))
    paused = fields.Boolean(load_default=False, metadata={"description": "Create it paused"})

    @validates("cron")
    def _cron(self, value: str, **_: Any) -> None:
        value = value.strip()
        if value.lower() in CRON_MACROS:
            return
        if len(value.split()) != 5:
            raise ValidationError("A cron expression has 5 fields: minute hour day-of-month month day-of-week "
                                  "(e.g. '0 9 * * 1-5'), or is @hourly, @daily, @weekly, @monthly or @yearly.")
        problem = cron_problem(value)
        if problem is not None or not croniter.is_valid(value):
            raise ValidationError(f"{value!r} is not a valid cron expression"
                                  + (f": {problem}." if problem else "."))

    @validates("time_zone")
    def _time_zone(self, value: str, **_: Any) -> None:
        if value not in _time_zones():
            raise ValidationError(f"Unknown time zone {value!r}; use an IANA name such as 'Europe/Paris' or 'UTC'.")

    @validates_schema
    def _when(self, data: dict[str, Any], **_: Any) -> None:
        if ("cron" in data) == ("interval_seconds" in data):
            raise ValidationError("Give either cron or interval_seconds (exactly one).", "cron")
        if data.get("start_at") and data.get("end_at") and data["end_at"] <= data["start_at"]:
            raise ValidationError("end_at must be after start_at.", "end_at")


def spec_document(data: dict[str, Any]) -> dict[str, Any]:
    """A loaded schedule as plain JSON (dates as ISO text), the form stored with the schedule."""
    doc = {k: v for k, v in data.items() if k != "id"}
    for key in ("start_at", "end_at"):
        if doc.get(key) is not None:
            doc[key] = doc[key].isoformat()
    if "cron" in doc:
        doc["cron"] = doc["cron"].strip()
    return doc


def _failure(messages: Any, prefix: str) -> ValidationFailed:
    message, details = validation_details({prefix: messages} if prefix else messages)
    return ValidationFailed(message, details)


def complete_spec(data: dict[str, Any], queries: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Check a loaded schedule's query and load its input with the query's schema (422 naming the field)."""
    query = queries.get(data["query"])
    if query is None:
        raise _failure({"query": [f"No query named {data['query']!r}; GET /api/v1/queries lists them."]}, prefix)
    try:
        data["input"] = query.input_schema.load(data["input"])
    except ValidationError as exc:
        raise _failure({"input": exc.messages}, prefix) from None
    return data


def load_spec(raw: Any, queries: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Validate a schedule (fields, the query, its input); ValidationFailed naming each bad field."""
    if not isinstance(raw, dict):
        raise _failure({"_schema": ["A schedule must be an object."]}, prefix)
    try:
        data = ScheduleFields().load(raw)
    except ValidationError as exc:
        raise _failure(exc.messages, prefix) from None
    return complete_spec(data, queries, prefix)


def due_times_over(spec: dict[str, Any], start: datetime, end: datetime, cap: int) -> bool:
    """Whether the schedule is due more than ``cap`` times between ``start`` and ``end`` (backfill guard)."""
    if spec.get("interval_seconds"):
        return (end - start).total_seconds() / spec["interval_seconds"] > cap
    zone = zoneinfo.ZoneInfo(spec.get("time_zone") or "UTC")
    # day_or=False: Temporal runs a cron naming both a day of month and a weekday on days that are both
    times = croniter(spec["cron"], start.astimezone(zone), day_or=False)
    try:
        for _ in range(cap + 1):
            if times.get_next(datetime) > end:
                return False
    except CroniterBadDateError:  # never due (e.g. 31 February)
        return False
    return True


@dataclass(frozen=True)
class SchedulePlan:
    """What Temporal is asked to keep: the schedule's spec and the run it starts each time."""

    id: str
    spec: dict[str, Any]
    workflow: str
    task_queue: str
    inp: RunInput
    run_memo: dict[str, Any]
    execution_timeout: timedelta | None
    digest: str


def plan_for(schedule_id: str, spec: dict[str, Any], query: Any, task_queue: str, origin: str) -> SchedulePlan:
    """The plan of a valid schedule (``spec`` from ``spec_document``); runs pin the query's definition now."""
    spec = {**spec, "origin": origin}
    memo: dict[str, Any] = {"origin": {"via": "schedule", "schedule": schedule_id}}
    inp = pinned(query, memo, RunInput(data=spec["input"], query=query.name, started_by=f"schedule:{schedule_id}"))
    unchanged_by = {k: v for k, v in spec.items() if k not in ("paused", "note")}  # operational, not the design
    digest = hashlib.sha256(json.dumps({"spec": unchanged_by, "workflow": query.workflow,
                                        "definition": inp.definition_version, "timeout": query.timeout_seconds,
                                        # SLA policies changed: a new plan (a schedule without them keeps its digest)
                                        **({"sla": inp.sla["version"]} if inp.sla else {})},
                                       sort_keys=True, default=str).encode()).hexdigest()
    spec["digest"] = digest
    return SchedulePlan(id=schedule_id, spec=spec, workflow=query.workflow, task_queue=task_queue, inp=inp,
                        run_memo={"input": spec["input"], **memo, "schedule": spec},
                        execution_timeout=timedelta(seconds=query.timeout_seconds) if query.timeout_seconds else None,
                        digest=digest)


def check_workspace_schedules(specs: list[tuple[Path, dict[str, Any], list[Problem]]], queries: dict[str, Any]
                              ) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """The valid ``schedules`` of every workspace file (id -> spec document) and a Problem per mistake,
    naming the file and ``schedules.<id>.<field>``. Schedules the JSON Schema already faulted are skipped
    (their problems are reported once, from the schema)."""
    found: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for source, data, schema_found in specs:
        raw = data.get("schedules", {})
        if not isinstance(raw, dict):
            continue  # the schema reports it
        faulted = {p.field for p in schema_found if p.field.startswith("schedules")}
        for schedule_id, spec in raw.items():
            where = f"schedules.{schedule_id}"
            if any(f == "schedules" or f == where or f.startswith(where + ".") for f in faulted):
                continue
            if not re.match(SCHEDULE_ID, schedule_id):
                problems.append(Problem(str(source), "", where, f"the id must be {SCHEDULE_ID_RULE}"))
            elif schedule_id in found:
                problems.append(Problem(str(source), "", where, "another workspace file declares this id too"))
            else:
                try:
                    found[schedule_id] = spec_document(load_spec(spec, queries))
                except ValidationFailed as exc:
                    problems += [Problem(str(source), "", f"{where}.{name}", " ".join(messages))
                                 for name, messages in exc.details["fields"].items()]
    return found, problems
