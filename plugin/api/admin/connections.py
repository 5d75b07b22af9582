"""The workspace's connections for the settings page (admin): what each is, whether its secrets are set,
and a "test connection" action (HEAD the base URL / SELECT 1). Never shows a secret value."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from temporalio.exceptions import ApplicationError

from plugin.api.http.auth import authenticate
from plugin.api.services import services
from plugin.engine.calls import http_types, sql_types
from plugin.engine.calls.http_activity import HttpActivities
from plugin.engine.calls.sql_activity import SqlActivities
from plugin.errors import NotFound
from plugin.secrets import SecretStore, references
from plugin.store.admin.shared_secrets import SharedSecrets
from plugin.workspace.connections import Connection

bp = Blueprint("connections", __name__, url_prefix="/api/v1/connections",
               description="Named connections (HTTP APIs, SQL databases) and their test action")
TEST_TIMEOUT = 10.0
_TESTERS = "workflows_connection_testers"


class SecretUseSchema(Schema):
    name = fields.String()
    set = fields.Boolean()
    source = fields.String(allow_none=True, metadata={"description": "env or file; null when not set"})


class ConnectionSchema(Schema):
    name = fields.String()
    kind = fields.String()
    description = fields.String()
    target = fields.String(metadata={"description": "base URL, or the SQL backend (the URL may be a secret)"})
    auth = fields.String(allow_none=True)
    read_only = fields.Boolean()
    secrets = fields.List(fields.Nested(SecretUseSchema))


class ConnectionListSchema(Schema):
    connections = fields.List(fields.Nested(ConnectionSchema))


class ConnectionTestSchema(Schema):
    name = fields.String()
    ok = fields.Boolean()
    message = fields.String()
    elapsed_ms = fields.Integer()


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def secret_store() -> SecretStore:
    """The secrets every process shares (Redis, encrypted), this process's environment, and its data dir."""
    settings = services().settings
    return SecretStore(settings.data_dir, shared=SharedSecrets(services().redis, settings.secrets_keys))


def _describe(conn: Connection, store: SecretStore) -> dict[str, Any]:
    settings = conn.settings
    if conn.kind == "http":
        target = settings["base_url"]
    else:
        url = settings["url"]
        target = "secret" if not isinstance(url, str) else url.split(":", 1)[0]
    auth = settings.get("auth")
    return {
        "name": conn.name, "kind": conn.kind, "description": str(settings.get("description", "")),
        "target": target, "auth": auth["type"] if isinstance(auth, dict) else None,
        "read_only": bool(settings.get("read_only", False)),
        "secrets": [{"name": n, "set": store.source(n) is not None, "source": store.source(n)}
                    for n in sorted(references(settings))],
    }


@bp.route("")
@bp.response(200, ConnectionListSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
def list_connections():
    """Every connection of the workspace, with which secrets it needs and whether they are set."""
    store = secret_store()
    return {"connections": [_describe(c, store) for _, c in sorted(services().workspace.connections.items())]}


def _testers() -> tuple[HttpActivities, SqlActivities]:
    """One http and one sql tester per app (they keep token caches and engine pools)."""
    testers = current_app.extensions.get(_TESTERS)
    if testers is None:
        svc = services()
        store = secret_store()
        testers = (HttpActivities(svc.settings.http_allow_hosts, connections=svc.workspace.connections,
                                  secrets=store, runtime=svc.runtime),  # the allow-list in force now
                   SqlActivities(svc.workspace.connections, store))
        current_app.extensions[_TESTERS] = testers
    return testers


@bp.route("/<name>/test", methods=["POST"])
@bp.response(200, ConnectionTestSchema, description="The outcome: ok, or why not")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(404, description="No such connection")
def test_connection(name: str):
    """Try the connection as a step would: HEAD its base URL, or SELECT 1."""
    conn = services().workspace.connections.get(name)
    if conn is None:
        raise NotFound(f"There is no connection named {name!r}", {"connection": name})
    http, sql = _testers()
    started = time.monotonic()
    try:
        if conn.kind == "http":
            answer = http.http_request(http_types.HttpCall(
                method="HEAD", url="", connection=name, timeout_seconds=TEST_TIMEOUT,
                accept_status=list(range(400, 600))))
            ok = answer.status < 400 or answer.status in (404, 405)
            message = f"HEAD {answer.url} answered {answer.status}"
        else:
            sql.sql_query(sql_types.SqlCall(connection=name, statement="SELECT 1", mode="one"))
            ok, message = True, "SELECT 1 answered"
    except ApplicationError as exc:  # the test's outcome, already free of secret values
        ok, message = False, f"{exc.type}: {exc.message}"
    return {"name": name, "ok": ok, "message": message, "elapsed_ms": int((time.monotonic() - started) * 1000)}
