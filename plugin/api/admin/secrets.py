"""Secrets for connections (admin, write-only): list names and where each is set, set one, delete one.
A secret's value is never read back; an environment variable of the same name always wins. Set here, a secret
lives in Redis, encrypted (plugin/store/admin/shared_secrets.py), so every API and worker process uses it."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from plugin.api.admin.connections import secret_store
from plugin.api.http.auth import authenticate
from plugin.api.schemas import StrictSchema
from plugin.api.services import services
from plugin.errors import Conflict, NotFound, ValidationFailed
from plugin.secrets import ENV_PREFIX, MAX_SECRET_CHARS, SECRET_NAME, references
from plugin.store.admin.shared_secrets import WHERE

bp = Blueprint("secrets", __name__, url_prefix="/api/v1/secrets",
               description="Secrets that connections refer to; write-only")


class SecretBody(StrictSchema):
    value = fields.String(required=True, load_only=True, validate=validate.Length(1, MAX_SECRET_CHARS))


class SecretSchema(Schema):
    name = fields.String()
    set = fields.Boolean()
    source = fields.String(allow_none=True, metadata={"description": "env, redis or file; null when not set"})
    stored_in = fields.String(allow_none=True, metadata={"description": "where the value lives, in words"})
    used_by = fields.List(fields.String(), metadata={"description": "connections that refer to it"})


class SecretListSchema(Schema):
    secrets = fields.List(fields.Nested(SecretSchema))


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _checked(name: str) -> str:
    if not SECRET_NAME.match(name):
        raise ValidationFailed(f"A secret name is upper-case letters, digits and _ (at most 64), not {name[:70]!r}",
                               {"fields": {"name": ["upper-case letters, digits and _"]}})
    return name


@bp.route("")
@bp.response(200, SecretListSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
def list_secrets():
    """Every secret that is set or that a connection refers to: its name, where it is set, who uses it."""
    store = secret_store()
    used: dict[str, list[str]] = {}
    for conn in services().workspace.connections.values():
        for name in references(conn.settings):
            used.setdefault(name, []).append(conn.name)
    sources = store.names()
    return {"secrets": [{"name": n, "set": n in sources, "source": sources.get(n),
                         "stored_in": _where(n, sources.get(n)), "used_by": sorted(used.get(n, []))}
                        for n in sorted(set(sources) | set(used))]}


def _where(name: str, source: str | None) -> str | None:
    return {"env": f"the environment variable {ENV_PREFIX}{name} of each process (it wins over the others)",
            "redis": WHERE, "file": "secrets.json in this API process's data dir only (set it again to share it)",
            }.get(source or "")


@bp.route("/<name>", methods=["PUT"])
@bp.arguments(SecretBody)
@bp.response(200, SecretSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(409, description="Set by an environment variable, which wins; or no WORKFLOWS_SECRETS_ENCRYPTION_KEY")
@bp.alt_response(422, description="Bad name or value")
def put_secret(body: dict, name: str):
    """Set a secret for every API and worker process: kept in Redis, encrypted with WORKFLOWS_SECRETS_ENCRYPTION_KEY
    (without that setting: 409). The next step that needs it uses the new value; the answer says where it lives."""
    store = secret_store()
    if store.source(_checked(name)) == "env":
        raise Conflict(f"Secret {name!r} is set by the environment variable {ENV_PREFIX}{name}; change it there",
                       {"secret": name})
    store.put(name, body["value"])
    used = sorted(c.name for c in services().workspace.connections.values() if name in references(c.settings))
    return {"name": name, "set": True, "source": "redis", "stored_in": WHERE, "used_by": used}


@bp.route("/<name>", methods=["DELETE"])
@bp.response(204)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(404, description="Not set through the API")
def delete_secret(name: str):
    """Remove a secret set through the API (from Redis, and from a data dir's older secrets file)."""
    if not secret_store().delete(_checked(name)):
        raise NotFound(f"Secret {name!r} is not set through the API", {"secret": name})
    return None
