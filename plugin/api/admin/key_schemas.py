"""Schemas of the keys admin API: bodies and resources (the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plugin.api.schemas import StrictSchema
from plugin.identity.capabilities import CAPABILITIES
from plugin.identity.config import MIN_SIGNATURE_SECRET
from plugin.store.admin.keys import SCOPES

MAX_GRACE_SECONDS = 30 * 24 * 3600
_IDENTITY_DOC = ("Identity sources the key accepts: {\"schemes\": [\"oidc\" | \"proxy\" | \"headers\"], "
                 "\"oidc\": {issuer, jwks_url, audiences, algorithms, user_claim, groups_claim, leeway}, "
                 "\"proxy\": {preset: pomerium | cloudflare_access | google_iap | oauth2_proxy, jwks_url, issuer, "
                 "audiences}, \"headers_source\": \"browser\" (default) | \"server\" (the host fills "
                 "X-Workflows-User on its server)}. Default: trusted headers, filled in the browser.")
_CAPABILITIES_DOC = ("What the key may do, from read, trigger, decide (resolve, reassign), cancel_retry (cancel or "
                     "retry runs, cancel requests), admin (admin keys only). Default: everything its scope allows, "
                     "except decide and cancel_retry for an app key whose users come only from headers a browser "
                     "fills (it cannot have them).")


def _future(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValidationError("Give a time zone (e.g. 2027-01-31T00:00:00Z).")
    if value <= datetime.now(UTC):
        raise ValidationError("Must be in the future.")


class _KeySettings(StrictSchema):
    expires_at = fields.DateTime(allow_none=True, validate=_future, metadata={"description": "When it stops"})
    identity = fields.Dict(metadata={"description": _IDENTITY_DOC})
    capabilities = fields.List(fields.String(validate=validate.OneOf(CAPABILITIES)), allow_none=True,
                               metadata={"description": _CAPABILITIES_DOC})
    signature_secret = fields.String(
        allow_none=True, validate=validate.Length(min=MIN_SIGNATURE_SECRET, max=512), load_only=True,
        metadata={"description": "Appsmith's datasource signature key: calls must then carry a valid "
                                 "X-APPSMITH-SIGNATURE. Never shown again."})


class KeyCreateBody(_KeySettings):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    query = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "The one query a webhook key may trigger"})

    @validates_schema
    def _webhook_has_query(self, data: dict, **_: object) -> None:
        if data.get("scope") == "webhook" and not data.get("query"):
            raise ValidationError("A webhook key names the one query it may trigger.", "query")
        if data.get("scope") != "webhook" and data.get("query"):
            raise ValidationError("Only a webhook key is tied to a query.", "query")


class KeyUpdateBody(_KeySettings):
    name = fields.String(validate=validate.Length(min=1, max=100))


class RotateBody(StrictSchema):
    grace_seconds = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_GRACE_SECONDS),
                                   metadata={"description": "How long the old secret keeps working (0: not)"})


class AuditArgs(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class KeySchema(Schema):
    """A key as the admin API shows it: never its secret."""

    id = fields.String()
    name = fields.String()
    scope = fields.String()
    query = fields.String(allow_none=True)
    prefix = fields.String(allow_none=True, metadata={"description": "The secret's first characters"})
    bootstrap = fields.Boolean(metadata={"description": "From WORKFLOWS_ADMIN_KEY / WORKFLOWS_APP_KEY; read-only"})
    created_at = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    rotated_at = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True, metadata={"description": "Last use, to the minute"})
    identity = fields.Dict()
    capabilities = fields.List(fields.String(), metadata={"description": _CAPABILITIES_DOC})


class KeyCreatedSchema(KeySchema):
    secret = fields.String(metadata={"description": "The key itself: shown this once, stored only hashed"})


class KeyListSchema(Schema):
    keys = fields.List(fields.Nested(KeySchema))


class AuditEntrySchema(Schema):
    at = fields.String()
    actor = fields.String()
    action = fields.String()
    target = fields.String()
    changes = fields.Dict()


class AuditListSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema))
