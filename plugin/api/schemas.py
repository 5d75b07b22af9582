"""Marshmallow schemas of the HTTP contract: bodies, query arguments and resources (for OpenAPI too)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, pre_load, validate
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from plugin.api.http.error_details import ERROR_DETAILS
from plugin.models import REQUEST_STATUSES


class StrictSchema(Schema):
    """Unknown fields are an error, so a typo never passes silently."""

    class Meta:
        unknown = RAISE


class QueryArgs(StrictSchema):
    """Query-string arguments where an empty value (``status=``) means the argument is absent.

    Hosts such as Appsmith send every parameter a query declares, empty when its binding has no value: there is
    no way for them to leave one out, so ``?status=&cursor=`` must mean "no status filter, first page"."""

    @pre_load
    def _empty_is_absent(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, MultiDictProxy):
            kept = MultiDict([(n, v) for n, v in data.data.items(multi=True) if v != ""])
            return MultiDictProxy(kept, self)
        if isinstance(data, dict):
            return {name: value for name, value in data.items() if value != ""}
        return data


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "what went wrong, for programs; the details "
                                                  "each code carries are in x-details-by-code"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for people"})
    details = fields.Dict(required=True, metadata={"x-details-by-code": ERROR_DETAILS})


class ErrorSchema(Schema):
    """The one error shape."""

    error = fields.Nested(ErrorBody, required=True)


class DecisionSchema(Schema):
    actor = fields.String()
    resolution = fields.String()
    at = fields.String()
    comment = fields.String()
    payload = fields.Dict()
    request_id = fields.String()
    via = fields.String(metadata={"description": "How the actor was identified: oidc, proxy, headers or link"})
    issuer = fields.String(metadata={"description": "The identity token's issuer, when a token identified them"})
    evidence = fields.Dict(metadata={"description": "What the person was shown: request_id, name, message, "
                                                    "metadata, form, resolutions, version ({} before evidence "
                                                    "was recorded)"})
    evidence_sha256 = fields.String(metadata={"description": "SHA-256 (hex) of the evidence's canonical JSON: "
                                                             "sorted keys, no spaces, UTF-8"})
    acting_for = fields.String(metadata={"description": "The absent assignee the actor decided for, as their "
                                                        "delegate (out of office); empty for one's own decision"})


class FormFieldSchema(Schema):
    name = fields.String()
    label = fields.String()
    type = fields.String()
    required = fields.Boolean()
    options = fields.List(fields.String())
    max_length = fields.Integer()


class SlaEscalationSchema(Schema):
    after = fields.String(metadata={"description": "Business time after the request opened, as the policy says"})
    at = fields.String(metadata={"description": "When that is on the policy's calendar (UTC, ISO 8601)"})
    users = fields.List(fields.String())
    groups = fields.List(fields.String())
    done = fields.Boolean(metadata={"description": "Whether this level has escalated the request"})


class SlaSchema(Schema):
    """The SLA policy a request follows and the times it computed when the request opened."""

    policy = fields.String(metadata={"description": "The workspace's SLA policy that set this request's times"})
    calendar = fields.String(metadata={"description": "The business calendar (empty: around the clock)"})
    time_zone = fields.String(metadata={"description": "The calendar's time zone, to show the times locally"})
    due_at = fields.String(allow_none=True)
    remind_at = fields.List(fields.String(), metadata={"description": "When each reminder is sent (UTC)"})
    escalations = fields.List(fields.Nested(SlaEscalationSchema))
    at_expiry = fields.String(metadata={"description": "expire, auto_approve or auto_reject"})
    expiry_resolution = fields.String(allow_none=True, metadata={
        "description": "The resolution an expired request gets (auto_approve, auto_reject), decided by 'system'"})
    version = fields.String(metadata={"description": "Digest of the policies and calendars pinned at run start"})


class RequestSchema(Schema):
    """A human request: one shape everywhere (inbox, one request, run detail, a decision's answer)."""

    id = fields.String()
    run_id = fields.String()
    query = fields.String()
    name = fields.String()
    message = fields.String()
    metadata = fields.Dict()
    resolutions = fields.List(fields.String(), metadata={"description": "The allowed resolutions"})
    users = fields.List(fields.String())
    groups = fields.List(fields.String())
    required_approvals = fields.Integer()
    rejecting_resolutions = fields.List(fields.String(), metadata={
        "description": "Resolutions that end the request at once, whatever the quorum"})
    allow_self_approval = fields.Boolean(metadata={"description": "May the person who started the run decide"})
    requester = fields.String()
    created_at = fields.String()
    status = fields.String()
    resolution = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    decisions = fields.List(fields.Nested(DecisionSchema))
    form = fields.List(fields.Nested(FormFieldSchema))
    due_at = fields.String(allow_none=True)
    due_resolution = fields.String(allow_none=True)
    remind_every_seconds = fields.Float(allow_none=True)
    max_reminders = fields.Integer()
    reminders_sent = fields.Integer()
    escalate_at = fields.String(allow_none=True)
    escalate_to_users = fields.List(fields.String())
    escalate_to_groups = fields.List(fields.String())
    escalated = fields.Boolean()
    version = fields.Integer()
    sla = fields.Nested(SlaSchema, allow_none=True, metadata={
        "description": "The SLA policy this request follows and its computed due, reminder and escalation times "
                       "(null: none)"})
    offered_for = fields.String(metadata={"description": "Only in a delegate's view: the absent assignee this "
                                                         "request is offered to the caller for (out of office)"})


class AuditSchema(Schema):
    at = fields.String()
    actor = fields.String()
    action = fields.String()
    request_id = fields.String()
    comment = fields.String()
    details = fields.Dict()


class RequestListArgs(QueryArgs):
    status = fields.String(load_default="pending", validate=validate.OneOf(REQUEST_STATUSES))
    name = fields.String(validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    # ASCII digits only (\d also matches other scripts' digits, which Redis refuses as a score).
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,16}:[^\x00-\x1f]{1,1000}$",
                                                    error="Not a cursor from this API."))


class RequestPageSchema(Schema):
    requests = fields.List(fields.Nested(RequestSchema))
    next_cursor = fields.String(allow_none=True)


class ResolveBody(StrictSchema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=200))
    comment = fields.String(load_default="", validate=validate.Length(max=5000))
    payload = fields.Dict(load_default=dict)


class ReassignBody(StrictSchema):
    to_users = fields.List(fields.Email(), load_default=list, validate=validate.Length(max=100))
    to_groups = fields.List(fields.String(validate=validate.Regexp(r"^[\w.\- ]{1,100}$", error="Not a group name.")),
                            load_default=list, validate=validate.Length(max=100))
    comment = fields.String(load_default="", validate=validate.Length(max=5000))


class CancelRequestBody(StrictSchema):
    comment = fields.String(load_default="", validate=validate.Length(max=5000))


class HealthSchema(Schema):
    status = fields.String()


class ReadySchema(Schema):
    status = fields.String()
    temporal = fields.String()
    redis = fields.String()
    worker = fields.String()
    warnings = fields.List(fields.String(), metadata={
        "description": "admin key only, when there are any: settings that work but are unsafe for production"})
