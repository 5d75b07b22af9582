"""Admin API of a query's webhook: enable it, regenerate its token or signing secret, set its rate limit,
revoke it. Tokens and secrets are shown once, in the answer that makes them."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates

from plugin.api.http import rate_limits
from plugin.api.http.auth import actor_name, authenticate
from plugin.api.openapi.errors import common_errors
from plugin.api.schemas import StrictSchema
from plugin.api.services import services
from plugin.api.triggers.hooks import webhook_store
from plugin.errors import Conflict, NotFound
from plugin.store.admin.settings_audit import SettingsAudit
from plugin.store.webhooks import DEFAULT_RATE_LIMIT, Webhook

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/queries",
               description="Webhook tokens and signing secrets of queries (admin key)")


def _check_rate_limit(value: str) -> None:
    try:
        rate_limits.parse_limit(value)
    except ValueError:
        raise ValidationError("Not a rate limit; write it like '60/minute' or '5/second'.") from None


class WebhookBody(StrictSchema):
    rate_limit = fields.String(load_default=DEFAULT_RATE_LIMIT, metadata={"description": "Per token, e.g. 60/minute"})
    signed = fields.Boolean(load_default=False, metadata={"description": "Require Standard Webhooks signatures"})

    @validates("rate_limit")
    def _rate_limit(self, value: str, **_: Any) -> None:
        _check_rate_limit(value)


class WebhookPatch(StrictSchema):
    rate_limit = fields.String(required=True, metadata={"description": "Per token, e.g. 60/minute"})

    @validates("rate_limit")
    def _rate_limit(self, value: str, **_: Any) -> None:
        _check_rate_limit(value)


class WebhookSchema(Schema):
    query = fields.String()
    enabled = fields.Boolean()
    token_hint = fields.String(metadata={"description": "The token's last four characters"})
    rate_limit = fields.String()
    signed = fields.Boolean(metadata={"description": "Whether calls must carry a Standard Webhooks signature"})
    created_at = fields.String()
    created_by = fields.String()
    token_rotated_at = fields.String(allow_none=True)
    secret_rotated_at = fields.String(allow_none=True)
    url = fields.String(metadata={"description": "Where to POST (token as Bearer)"})
    token = fields.String(metadata={"description": "Shown only in the answer that makes it"})
    url_with_token = fields.String(metadata={"description": "For senders that cannot set headers; shown once"})
    signing_secret = fields.String(metadata={"description": "whsec_...; shown only in the answer that makes it"})


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _audited(action: str, name: str, changes: dict[str, Any] | None = None) -> None:
    """Record the change in the settings audit (never the token or the secret)."""
    SettingsAudit(services().redis).record(actor_name(), action, f"webhook:{name}", changes)


def _query_name(name: str) -> str:
    if name not in services().workspace.queries:
        raise NotFound(f"No query named {name!r}; GET /api/v1/queries lists them")
    return name


def _hook(name: str) -> Webhook:
    hook = webhook_store().get(_query_name(name))
    if hook is None:
        raise NotFound(f"The webhook of {name!r} is not enabled; enable it with POST /api/v1/queries/{name}/webhook")
    return hook


def _shown(hook: Webhook, token: str | None = None, secret: str | None = None) -> dict[str, Any]:
    base = request.host_url.rstrip("/")
    doc = {**hook.public(), "url": base + url_for("hooks.trigger_hook", name=hook.query)}
    if token:
        doc.update(token=token, url_with_token=base + url_for("hooks.trigger_hook_with_token", name=hook.query,
                                                              token=token))
    if secret:
        doc["signing_secret"] = secret
    return doc


_COMMON = {401: "No valid API key", 403: "Not an admin key", 404: "No such query, or its webhook is not enabled"}


_errors = common_errors(bp, _COMMON)


@bp.route("/<name>/webhook")
@bp.response(200, WebhookSchema)
@_errors()
def get_webhook(name: str):
    """The query's webhook settings (never its token or secret)."""
    hook = webhook_store().get(_query_name(name))
    return _shown(hook) if hook else {"query": name, "enabled": False}


@bp.route("/<name>/webhook", methods=["POST"])
@bp.arguments(WebhookBody)
@bp.response(201, WebhookSchema)
@_errors((409, "Already enabled"), (422, "Invalid rate limit"))
def enable_webhook(body: dict[str, Any], name: str):
    """Enable the query's webhook: answers its token (and signing secret when ``signed``), shown only now."""
    if webhook_store().get(_query_name(name)) is not None:
        raise Conflict(f"The webhook of {name!r} is already enabled; regenerate its token with "
                       f"POST /api/v1/queries/{name}/webhook/token or revoke it first")
    hook, token, secret = webhook_store().enable(name, actor_name(), body["rate_limit"], body["signed"])
    _audited("webhook_enabled", name, {"rate_limit": hook.rate_limit, "signed": body["signed"]})
    return _shown(hook, token, secret)


@bp.route("/<name>/webhook", methods=["PATCH"])
@bp.arguments(WebhookPatch)
@bp.response(200, WebhookSchema)
@_errors((422, "Invalid rate limit"))
def update_webhook(body: dict[str, Any], name: str):
    """Change the webhook's rate limit."""
    hook = webhook_store().update(_hook(name), rate_limit=body["rate_limit"])
    _audited("webhook_updated", name, {"rate_limit": hook.rate_limit})
    return _shown(hook)


@bp.route("/<name>/webhook", methods=["DELETE"])
@bp.response(204)
@_errors()
def revoke_webhook(name: str):
    """Revoke the webhook: its token and secret stop working at once."""
    if not webhook_store().revoke(_query_name(name)):
        raise NotFound(f"The webhook of {name!r} is not enabled")
    _audited("webhook_revoked", name)
    return None


@bp.route("/<name>/webhook/token", methods=["POST"])
@bp.response(200, WebhookSchema)
@_errors()
def regenerate_token(name: str):
    """A new token, shown only now; the old one stops working at once."""
    hook, token = webhook_store().regenerate_token(_hook(name))
    _audited("webhook_token_regenerated", name)
    return _shown(hook, token=token)


@bp.route("/<name>/webhook/secret", methods=["POST"])
@bp.response(200, WebhookSchema)
@_errors()
def regenerate_secret(name: str):
    """A new signing secret, shown only now (signatures become required); the old one stops at once."""
    hook, secret = webhook_store().regenerate_secret(_hook(name))
    _audited("webhook_secret_regenerated", name)
    return _shown(hook, secret=secret)


@bp.route("/<name>/webhook/secret", methods=["DELETE"])
@bp.response(200, WebhookSchema)
@_errors()
def remove_secret(name: str):
    """Stop requiring signatures (the token alone authenticates)."""
    hook = webhook_store().update(_hook(name), signing_secret=None, secret_rotated_at=None)
    _audited("webhook_secret_removed", name)
    return _shown(hook)
