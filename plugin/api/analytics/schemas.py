"""Query arguments and the answer of ``GET /api/v1/analytics/requests`` (for OpenAPI too)."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from plugin.api.schemas import QueryArgs
from plugin.readmodel.request_analytics import GROUP_BY

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
_TIME_HELP = "ISO 8601 time with a time zone, e.g. 2026-12-01T00:00:00Z"


class AnalyticsArgs(QueryArgs):
    since = fields.AwareDateTime(format="iso", default_timezone=None, metadata={
        "description": f"Start of the range (inclusive); {_TIME_HELP}. Default: {DEFAULT_RANGE_DAYS} days before "
                       "until"})
    until = fields.AwareDateTime(format="iso", default_timezone=None, metadata={
        "description": f"End of the range (exclusive); {_TIME_HELP}. Default: now"})
    query = fields.String(validate=validate.Regexp(r"^[\w.\-]{1,200}$", error="Not a valid query name."),
                          metadata={"description": "Only the requests of this query"})
    group_by = fields.String(load_default="query", validate=validate.OneOf(
        GROUP_BY, error="Must be one of: query, assignee, group."), metadata={
        "description": "Rows per query (default), per assignee (each assigned user and each person who decided) "
                       "or per group"})

    @validates_schema
    def _range(self, data: dict, **kwargs: object) -> None:
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            raise SchemaError("must be later than since", field_name="until")
        if since and until and until - since > timedelta(days=MAX_RANGE_DAYS):
            raise SchemaError(f"the range may cover at most {MAX_RANGE_DAYS} days", field_name="until")


class _Figures(Schema):
    opened = fields.Integer(metadata={"description": "Requests opened in the range"})
    decided = fields.Integer(metadata={"description": "Requests a person decided in the range"})
    expired = fields.Integer(metadata={"description": "Requests that expired in the range"})
    auto_resolved = fields.Integer(metadata={"description": "Requests resolved at their due time by their "
                                                            "due_resolution, nobody deciding"})
    cancelled = fields.Integer(metadata={"description": "Requests cancelled in the range"})
    p50_seconds = fields.Float(allow_none=True, metadata={"description": "Median time to decision (seconds)"})
    p90_seconds = fields.Float(allow_none=True, metadata={"description": "90th percentile time to decision "
                                                                         "(seconds, nearest rank)"})
    within_due = fields.Integer(metadata={"description": "Ended in the range with a due time: decided by it"})
    past_due = fields.Integer(metadata={"description": "Ended in the range with a due time: decided after it, "
                                                       "expired or resolved on due"})
    within_due_share = fields.Float(allow_none=True, metadata={
        "description": "within_due / (within_due + past_due); null when no request had a due time"})
    overdue_now = fields.Integer(metadata={"description": "Pending requests past their due time now"})


class AnalyticsRowSchema(_Figures):
    key = fields.String(metadata={"description": "The query, assignee (email) or group of the row"})


class AnalyticsSchema(Schema):
    since = fields.String()
    until = fields.String()
    group_by = fields.String()
    query = fields.String(allow_none=True)
    scope = fields.String(metadata={"description": "all (admin key) or own (the caller's requests and decisions)"})
    generated_at = fields.String()
    totals = fields.Nested(_Figures, metadata={"description": "Each request once, over every row"})
    rows = fields.List(fields.Nested(AnalyticsRowSchema))
