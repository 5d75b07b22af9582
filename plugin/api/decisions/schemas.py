"""Schemas of bulk decisions, evidence and the decisions export (bodies, arguments, answers; OpenAPI too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from plugin.api.schemas import DecisionSchema, ErrorBody, QueryArgs, RequestSchema, StrictSchema

MAX_BULK = 100
MAX_EXPORT_DAYS = 366


class BulkResolveBody(StrictSchema):
    ids = fields.List(fields.String(validate=validate.Length(min=1, max=500)), required=True,
                      validate=validate.Length(min=1, max=MAX_BULK,
                                               error=f"Give between 1 and {MAX_BULK} request ids."),
                      metadata={"description": f"The requests to decide, 1 to {MAX_BULK}; a repeated id is "
                                               "decided once"})
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=200))
    comment = fields.String(load_default="", validate=validate.Length(max=5000))




class BulkDecisionResultSchema(StrictSchema):
    id = fields.String(required=True)
    status = fields.Integer(required=True, metadata={
        "description": "The HTTP status this decision would have had alone: 200, 403, 404, 409, 422 or 503 "
                       "(500 only for a bug, reported for that request alone)"})
    outcome = fields.String(required=True, validate=validate.OneOf(("decided", "repeated", "refused")), metadata={
        "description": "decided: recorded now; repeated: your same decision already stood (nothing recorded "
                       "again); refused: see error"})
    request = fields.Nested(RequestSchema, allow_none=True, metadata={"description": "The request (status 200)"})
    error = fields.Nested(ErrorBody, allow_none=True, metadata={"description": "Why it was refused"})


class BulkDecisionAnswerSchema(StrictSchema):
    results = fields.List(fields.Nested(BulkDecisionResultSchema), required=True,
                          metadata={"description": "One result per distinct id, in the order given"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "How many results had each status (keys are statuses)"})
    repeated = fields.Integer(required=True, metadata={"description": "Of the 200s, those already decided so"})
    duplicates = fields.Integer(required=True, metadata={"description": "Ids given more than once (decided once)"})


class EvidenceDecisionSchema(DecisionSchema):
    verified = fields.Boolean(metadata={"description": "The stored hash matches the stored evidence, recomputed "
                                                       "now (null for decisions made before evidence was kept)"},
                              allow_none=True)


class EvidenceSchema(StrictSchema):
    request_id = fields.String()
    run_id = fields.String()
    query = fields.String()
    status = fields.String()
    version = fields.Integer(metadata={"description": "The request's version now"})
    decisions = fields.List(fields.Nested(EvidenceDecisionSchema))


def instant(value: datetime) -> datetime:
    """A time with its offset (UTC when none was given)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ExportArgs(QueryArgs):
    since = fields.DateTime(required=True, metadata={"description": "ISO 8601; decisions made at or after it "
                                                                    "(UTC when no offset is given)"})
    until = fields.DateTime(required=True, metadata={"description": "ISO 8601; decisions made before it"})
    query = fields.String(validate=validate.Regexp(r"^[\w.\-]{1,100}$", error="Not a query name."))
    format = fields.String(load_default="jsonl", validate=validate.OneOf(("jsonl", "csv")))

    @validates_schema
    def _a_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "since" not in data or "until" not in data:
            return
        since, until = instant(data["since"]), instant(data["until"])
        if until <= since:
            raise ValidationError("until must be later than since.", "until")
        if (until - since).days > MAX_EXPORT_DAYS:
            raise ValidationError(f"Export at most {MAX_EXPORT_DAYS} days at a time.", "until")
