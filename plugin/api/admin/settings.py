"""Runtime settings (admin key only): read them with where each comes from, change them without a restart.

A change is one Redis write, seen by every API and worker process within a second; an invalid value is a
422 naming the field and changes nothing. Every change goes to the settings audit log.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE

from plugin.api.admin.key_schemas import AuditArgs, AuditListSchema
from plugin.api.admin.settings_schemas import SETTING_DOCS, SettingsPatchBody, SettingsSchema, checked_changes
from plugin.api.http.auth import actor_name, authenticate
from plugin.api.services import services
from plugin.store.admin.runtime_settings import EMPTY, FIELDS, env_values
from plugin.store.admin.settings_audit import SettingsAudit

bp = Blueprint("settings", __name__, url_prefix="/api/v1/settings",
               description="Runtime settings (admin key only)")


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _view() -> dict[str, Any]:
    svc = services()
    overrides = svc.runtime.overrides()
    env = env_values(svc.settings)
    shown: dict[str, Any] = {}
    for name, variable in FIELDS.items():
        source = "runtime" if name in overrides else "environment" if env[name] not in EMPTY else "default"
        shown[name] = {"value": overrides.get(name, env[name]), "source": source, "env": variable,
                       "env_value": env[name], "description": SETTING_DOCS[name]}
    return {"settings": shown}


@bp.route("")
@bp.doc(operationId="getSettings")
@bp.response(200, SettingsSchema)
@bp.alt_response(401, description="No or invalid key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(503, description="Redis unavailable")
def get_settings():
    """Each runtime setting: the value in force, its source (runtime, environment or default) and the
    environment's value a reset goes back to."""
    return _view()


@bp.route("", methods=["PATCH"])
@bp.doc(operationId="changeSettings")
@bp.arguments(SettingsPatchBody)
@bp.response(200, SettingsSchema)
@bp.alt_response(400, description="Bad request")
@bp.alt_response(401, description="No or invalid key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(422, description="Invalid value: the field is named; nothing was changed")
@bp.alt_response(503, description="Redis unavailable")
def patch_settings(body: dict[str, Any]):
    """Change some settings at once (``null`` puts one back to its environment value); in force on every
    process within a second."""
    changes = checked_changes(body, services().settings.cors_credentials)
    if changes:
        services().runtime.apply(changes)
        SettingsAudit(services().redis).record(actor_name(), "settings_changed", "settings",
                                               {k: ("reset" if v is None else v) for k, v in changes.items()})
    return _view()


@bp.route("/audit")
@bp.doc(operationId="settingsAudit")
@bp.arguments(AuditArgs, location="query", unknown=RAISE)
@bp.response(200, AuditListSchema)
@bp.alt_response(401, description="No or invalid key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(503, description="Redis unavailable")
def settings_audit(args: dict[str, Any]):
    """The settings audit log, newest first: every change to keys, settings and webhook tokens."""
    return {"entries": SettingsAudit(services().redis).recent(args["limit"])}
