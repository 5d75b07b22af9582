"""API keys (admin only): create, list, change, rotate and revoke; every change goes to the settings audit."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from plugin.api.admin.key_schemas import (
    AuditArgs,
    AuditListSchema,
    KeyCreateBody,
    KeyCreatedSchema,
    KeyListSchema,
    KeySchema,
    KeyUpdateBody,
    RotateBody,
)
from plugin.api.http.auth import actor_name, authenticate
from plugin.api.openapi.errors import error_documenter
from plugin.api.services import services
from plugin.errors import NotFound
from plugin.identity.capabilities import ACTING, checked_capabilities
from plugin.identity.config import KeyIdentity, key_identity
from plugin.store.admin.settings_audit import SettingsAudit

bp = Blueprint("keys", __name__, url_prefix="/api/v1/keys", description="API keys (admin key only)")

ERRORS = {400: "Bad request", 401: "No or invalid key", 403: "Not an admin key", 404: "Unknown key",
          422: "Invalid input", 503: "Redis unavailable"}


_document_errors = error_documenter(bp, ERRORS)


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _audit() -> SettingsAudit:
    return SettingsAudit(services().redis)


def _identity(body: dict[str, Any], current: dict[str, Any] | None = None) -> KeyIdentity:
    """The identity settings of a body, on top of the key's current ones (the secret is kept unless changed)."""
    raw = dict(body["identity"]) if "identity" in body else dict(current or {"schemes": ["headers"]})
    raw.pop("has_signature_secret", None)
    raw["signature_secret"] = body["signature_secret"] if "signature_secret" in body else (
        (current or {}).get("signature_secret"))
    return key_identity(raw, services().keys.default_oidc)


def _stored(identity: KeyIdentity) -> dict[str, Any]:
    """What is stored: a key configured with global OIDC defaults follows later changes of those defaults."""
    data = identity.to_dict(with_secret=True)
    if identity.oidc is not None and identity.oidc == services().keys.default_oidc:
        data["oidc"] = None
    return data


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    """What the audit records of a body: never the secret itself."""
    shown = {k: v for k, v in body.items() if k != "signature_secret"}
    if "expires_at" in shown and shown["expires_at"] is not None:
        shown["expires_at"] = shown["expires_at"].isoformat()
    if "signature_secret" in body:
        shown["signature_secret"] = "changed" if body["signature_secret"] else "removed"
    return shown


def _bootstrap_views() -> list[dict[str, Any]]:
    return [{"id": f"env:{k.scope}", "name": k.name, "scope": k.scope, "bootstrap": True, "prefix": None,
             "identity": k.identity.to_dict(), "capabilities": list(k.capabilities)}
            for k in services().keys.bootstrap_keys]


def _capabilities(body: dict[str, Any], scope: str, identity: KeyIdentity,
                  current: list[str] | None = None) -> tuple[str, ...]:
    """The key's capabilities: as given, else the current ones (less any the identity no longer allows)."""
    if "capabilities" in body and body["capabilities"] is not None:
        return checked_capabilities(body["capabilities"], scope, identity)
    if current is None or body.get("capabilities", False) is None:
        return checked_capabilities(None, scope, identity)
    allowed = checked_capabilities(None, scope, identity)
    return tuple(c for c in current if c in allowed or c not in ACTING)


@bp.route("")
@bp.response(200, KeyListSchema)
@_document_errors(401, 403, 503)
def list_keys():
    """Every key: the bootstrap keys from the settings (read-only) and the stored ones, never a secret."""
    return {"keys": _bootstrap_views() + services().keys.all()}


@bp.route("", methods=["POST"])
@bp.arguments(KeyCreateBody)
@bp.response(201, KeyCreatedSchema)
@_document_errors(400, 401, 403, 422, 503)
def create_key(body: dict[str, Any]):
    """Create a key; the answer carries its secret, shown this once."""
    if body["scope"] == "webhook" and body["query"] not in services().workspace.queries:
        raise NotFound(f"No query named {body['query']!r}; GET /api/v1/queries lists them")
    identity = _identity(body)
    capabilities = _capabilities(body, body["scope"], identity)
    expires = body.get("expires_at")
    record, secret = services().keys.create(body["name"], body["scope"], _stored(identity), actor_name(),
                                            expires.isoformat() if expires else None, body.get("query"),
                                            capabilities)
    _audit().record(actor_name(), "key_created", f"key:{record['id']}", _changes(body))
    return {**record, "secret": secret}


def _record(key_id: str) -> dict[str, Any]:
    record = services().keys.record(key_id, with_secret=True)
    if record is None:
        raise NotFound(f"No key with id {key_id!r} (bootstrap keys are changed in the settings)")
    return record


@bp.route("/<key_id>")
@bp.response(200, KeySchema)
@_document_errors(401, 403, 404, 503)
def get_key(key_id: str):
    """One stored key."""
    return services().keys.record_view(_record(key_id))


@bp.route("/<key_id>", methods=["PATCH"])
@bp.arguments(KeyUpdateBody)
@bp.response(200, KeySchema)
@_document_errors(400, 401, 403, 404, 422, 503)
def update_key(body: dict[str, Any], key_id: str):
    """Change a key's name, expiry, identity sources, capabilities or host signature secret (at once)."""
    record = _record(key_id)
    changes: dict[str, Any] = {k: body[k] for k in ("name",) if k in body}
    if "expires_at" in body:
        changes["expires_at"] = body["expires_at"].isoformat() if body["expires_at"] else None
    if {"identity", "signature_secret", "capabilities"} & set(body):
        identity = _identity(body, record.get("identity"))
        if "identity" in body or "signature_secret" in body:
            changes["identity"] = _stored(identity)
        changes["capabilities"] = list(_capabilities(body, record["scope"], identity, record.get("capabilities")))
    updated = services().keys.update(key_id, changes)
    if updated is None:
        raise NotFound(f"No key with id {key_id!r}")
    _audit().record(actor_name(), "key_changed", f"key:{key_id}", _changes(body))
    return updated


@bp.route("/<key_id>/rotate", methods=["POST"])
@bp.arguments(RotateBody)
@bp.response(200, KeyCreatedSchema)
@_document_errors(400, 401, 403, 404, 422, 503)
def rotate_key(body: dict[str, Any], key_id: str):
    """A new secret (shown once); the old one keeps working for ``grace_seconds``, then stops."""
    rotated = services().keys.rotate(key_id, body["grace_seconds"])
    if rotated is None:
        raise NotFound(f"No key with id {key_id!r}")
    record, secret = rotated
    _audit().record(actor_name(), "key_rotated", f"key:{key_id}", {"grace_seconds": body["grace_seconds"]})
    return {**record, "secret": secret}


@bp.route("/<key_id>", methods=["DELETE"])
@bp.response(204)
@_document_errors(401, 403, 404, 503)
def revoke_key(key_id: str):
    """Revoke a key: every secret of it stops at once, on every API process."""
    if services().keys.revoke(key_id) is None:
        raise NotFound(f"No key with id {key_id!r}")
    _audit().record(actor_name(), "key_revoked", f"key:{key_id}")
    return ""


@bp.route("/audit")
@bp.arguments(AuditArgs, location="query", unknown=RAISE)
@bp.response(200, AuditListSchema)
@_document_errors(401, 403, 422, 503)
def key_audit(args: dict[str, Any]):
    """The settings audit log, newest first: who changed which key (or setting), when, and what."""
    return {"entries": _audit().recent(args["limit"])}
