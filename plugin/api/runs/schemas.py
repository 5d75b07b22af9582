"""Marshmallow schemas of queries and runs: bodies, query arguments and resources (for OpenAPI too)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from plugin.api.schemas import AuditSchema, DecisionSchema, QueryArgs, RequestSchema, StrictSchema
from plugin.gateway_ops.listing import RUN_STATUSES
from plugin.workspace.loader import MAX_WAIT_SECONDS

MAX_PAGE = 100
MAX_BULK = 100
_NAME = validate.Regexp(r"^[\w.\-]{1,200}$", error="Not a valid name.")
# Quotes spelled \x22 and \x27: valid in ECMAScript's unicode mode (Ajv), and nothing for a code generator to escape
NO_QUOTES_USER = r"^[^\x22\x27\\\s]{1,254}$"
STATUS_HELP = "running, waiting, completed, failed, cancelled, terminated or timed_out"


class QuerySchema(Schema):
    name = fields.String()
    label = fields.String()
    description = fields.String()
    workflow = fields.String()
    mode = fields.String(metadata={"description": "async, or sync (a trigger waits wait_seconds by default)"})
    wait_seconds = fields.Integer()
    run_id = fields.String(metadata={"description": "'random', or the business-key template of the run id"})
    timeout_seconds = fields.Integer(allow_none=True)
    input_schema = fields.Dict(metadata={"description": "JSON Schema of the trigger input"})
    output_schema = fields.Dict(allow_none=True, metadata={"description": "JSON Schema of the run's output, "
                                                                          "when the workspace declares it"})


class QueryListSchema(Schema):
    queries = fields.List(fields.Nested(QuerySchema))


class TriggerBody(StrictSchema):
    input = fields.Dict(required=True, metadata={"description": "The trigger data, per the query's schema"})


class TriggerArgs(QueryArgs):
    wait = fields.Integer(validate=validate.Range(min=0, max=MAX_WAIT_SECONDS), metadata={
        "description": f"Seconds (at most {MAX_WAIT_SECONDS}) to wait for the output; sync queries default to "
                       "their wait_seconds"})


class RunStartedSchema(Schema):
    run_id = fields.String()
    query = fields.String()
    status = fields.String(metadata={"description": STATUS_HELP})
    status_url = fields.String()
    existing = fields.Boolean(metadata={"description": "True when an existing run was returned (same "
                                                       "Idempotency-Key, or an open run with this business key)"})
    output = fields.Raw(allow_none=True, metadata={"description": "The output, when the run completed within "
                                                                  "the wait"})
    retry_of = fields.String(metadata={"description": "On a retry: the run it retries"})
    responded = fields.Boolean(metadata={"description": "True when a node-based run's respond step answered "
                                                        "within the wait (output is its body; the run goes on)"})


class RunErrorSchema(Schema):
    type = fields.String()
    message = fields.String()
    step = fields.String(allow_none=True, metadata={"description": "The activity or child workflow that failed"})


class RunSummarySchema(Schema):
    id = fields.String()
    workflow = fields.String()
    query = fields.String(allow_none=True)
    started_by = fields.String(allow_none=True)
    app = fields.String(allow_none=True)
    retry_of = fields.String(allow_none=True)
    status = fields.String(metadata={"description": STATUS_HELP})
    started_at = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)


class RunSchema(RunSummarySchema):
    input = fields.Raw(allow_none=True)
    output = fields.Raw(allow_none=True)
    error = fields.Nested(RunErrorSchema, allow_none=True)
    definition_version = fields.String(allow_none=True)
    origin = fields.Dict(allow_none=True, metadata={"description": "How the run was started from outside: "
                                                               "via (webhook), ip, webhook_id"})
    retries = fields.List(fields.String(), metadata={"description": "Ids of runs that retry this one"})
    requests = fields.List(fields.Nested(RequestSchema))
    decisions = fields.List(fields.Nested(DecisionSchema))
    audit = fields.List(fields.Nested(AuditSchema))
    state_error = fields.String()
    temporal_ui_url = fields.String()


class StepSchema(Schema):
    name = fields.String()
    kind = fields.String(metadata={"description": "activity, timer, child or request; for node-based runs the "
                                                  "definition's step kind (http, approval, delay, branch...)"})
    status = fields.String()
    step_id = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)
    attempts = fields.Integer()
    error = fields.String(allow_none=True)


class StepListSchema(Schema):
    run_id = fields.String()
    steps = fields.List(fields.Nested(StepSchema))


class RunFilterArgs(StrictSchema):
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    query = fields.String(validate=_NAME)
    workflow = fields.String(validate=_NAME)
    started_by = fields.String(validate=validate.Regexp(NO_QUOTES_USER, error="Not a valid user."))
    since = fields.AwareDateTime(format="iso", default_timezone=None, metadata={
        "description": "Runs started at or after this ISO 8601 time (with a time zone)"})
    until = fields.AwareDateTime(format="iso", default_timezone=None, metadata={
        "description": "Runs started before this ISO 8601 time (with a time zone)"})

    @validates_schema
    def _range(self, data: dict, **kwargs: object) -> None:
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise SchemaError("must be later than since", field_name="until")


class RunListArgs(QueryArgs, RunFilterArgs):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(min=1, max=4000))


class RunPageSchema(Schema):
    runs = fields.List(fields.Nested(RunSummarySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Pass as cursor for the next page"})


class CancelBody(StrictSchema):
    wait = fields.Integer(load_default=10, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS), metadata={
        "description": "Seconds to wait for the run to end after asking it to cancel"})


class BulkArgs(RunFilterArgs):
    limit = fields.Integer(load_default=MAX_BULK, validate=validate.Range(min=1, max=MAX_BULK))


class BulkResultSchema(Schema):
    matched = fields.Integer(metadata={"description": "Runs the filters selected in this call"})
    affected = fields.List(fields.String(), metadata={"description": "Runs cancelled, or the new runs started"})
    skipped = fields.Dict(metadata={"description": "Run id -> why it was left alone"})
    more = fields.Boolean(metadata={"description": "More runs match: call again"})
