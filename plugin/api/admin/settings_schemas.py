"""Schemas of the runtime settings API, and the checks of each setting (every bad field named at once)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from plugin.api.schemas import StrictSchema
from plugin.config import _allow_hosts, _origins
from plugin.errors import ConfigError, ValidationFailed
from plugin.identity.config import token_config
from plugin.store.admin.runtime_settings import REQUEST_DEFAULT_FIELDS

MAX_DURATION = 366 * 24 * 3600
MAX_REMINDERS = 50
MAX_LIST = 200

SETTING_DOCS = {
    "cors_origins": "Browser origins allowed to call the API: scheme://host[:port], null or *",
    "http_allow_hosts": "host or host:port entries that http steps may call although they resolve inside the network",
    "notify_url": "Where notifications (assigned, reminder, escalated...) are POSTed; null: the environment's",
    "request_defaults": "For requests that set none: {due_in_seconds, remind_every_seconds, max_reminders}",
    "identity_defaults": "{oidc: {issuer, jwks_url, audiences, algorithms, user_claim, groups_claim, leeway}} "
                         "used by keys that accept user tokens without their own settings",
}


class SettingsPatchBody(StrictSchema):
    """Only the settings to change; ``null`` puts a setting back to its environment value."""

    cors_origins = fields.Raw(allow_none=True, metadata={"description": SETTING_DOCS["cors_origins"]})
    http_allow_hosts = fields.Raw(allow_none=True, metadata={"description": SETTING_DOCS["http_allow_hosts"]})
    notify_url = fields.Raw(allow_none=True, metadata={"description": SETTING_DOCS["notify_url"]})
    request_defaults = fields.Raw(allow_none=True, metadata={"description": SETTING_DOCS["request_defaults"]})
    identity_defaults = fields.Raw(allow_none=True, metadata={"description": SETTING_DOCS["identity_defaults"]})


class SettingSchema(Schema):
    """One runtime setting as shown: the value in force and where it comes from."""

    value = fields.Raw(metadata={"description": "The value in force"})
    source = fields.String(metadata={"description": "runtime (changed here), environment or default"})
    env = fields.String(metadata={"description": "The environment variable that gives the default"})
    env_value = fields.Raw(metadata={"description": "The environment's value (what a reset goes back to)"})
    description = fields.String()


class SettingsSchema(Schema):
    """Every runtime setting by name."""

    settings = fields.Dict(keys=fields.String(), values=fields.Nested(SettingSchema))


def _strings(value: Any, name: str, errors: dict[str, list[str]]) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[name] = ["Give a list of strings."]
        return None
    if len(value) > MAX_LIST:
        errors[name] = [f"Give at most {MAX_LIST} entries."]
        return None
    return [v.strip() for v in value if v.strip()]


def _env_check(parse, name: str, entries: list[str], errors: dict[str, list[str]]) -> list[str] | None:
    """Reuse the environment's own parser, so the page and the variable accept exactly the same values."""
    try:
        return list(parse({name: ",".join(entries)}, name))
    except ConfigError as exc:
        errors[name] = [exc.message.removeprefix(f"{name}: ")]
        return None


def _duration(value: Any, name: str, errors: dict[str, list[str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_DURATION:
        errors[name] = [f"Give seconds greater than 0 and at most {MAX_DURATION} (366 days), or null."]


def _request_defaults(value: Any, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors["request_defaults"] = ["Give an object."]
        return None
    for unknown in sorted(set(value) - set(REQUEST_DEFAULT_FIELDS)):
        errors[f"request_defaults.{unknown}"] = ["Unknown field."]
    _duration(value.get("due_in_seconds"), "request_defaults.due_in_seconds", errors)
    _duration(value.get("remind_every_seconds"), "request_defaults.remind_every_seconds", errors)
    reminders = value.get("max_reminders")
    if reminders is not None and (isinstance(reminders, bool) or not isinstance(reminders, int)
                                  or not 0 <= reminders <= MAX_REMINDERS):
        errors["request_defaults.max_reminders"] = [f"Give a whole number from 0 to {MAX_REMINDERS}."]
    return {k: v for k, v in value.items() if v is not None}


def _identity_defaults(value: Any, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    if not isinstance(value, dict) or set(value) - {"oidc"}:
        errors["identity_defaults"] = ["Give an object with one field, oidc (an object or null)."]
        return None
    if value.get("oidc") is None:
        return {"oidc": None}
    try:
        return {"oidc": token_config(value["oidc"], "identity_defaults.oidc").to_dict()}
    except ValidationFailed as exc:
        errors.update(exc.details.get("fields", {"identity_defaults.oidc": [exc.message]}))
        return None


def checked_changes(body: dict[str, Any], cors_credentials: bool) -> dict[str, Any]:
    """The body's settings in their stored form; ValidationFailed (422) naming every bad field, so nothing
    is half-applied."""
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if value is None:
            changes[name] = None
        elif name == "cors_origins":
            entries = _strings(value, name, errors)
            checked = None if entries is None else _env_check(_origins, name, entries, errors)
            if checked is not None and cors_credentials and {"*", "null"} & set(checked):
                errors[name] = ["'*' and 'null' (any sandboxed iframe or file) cannot be used while "
                                "WORKFLOWS_CORS_CREDENTIALS is on: list the real origins."]
            changes[name] = checked
        elif name == "http_allow_hosts":
            entries = _strings(value, name, errors)
            changes[name] = None if entries is None else _env_check(_allow_hosts, name, entries, errors)
        elif name == "notify_url":
            if not isinstance(value, str) or not value.startswith(("http://", "https://")) or len(value) > 2000:
                errors[name] = ["Give an http:// or https:// URL (at most 2000 characters), or null."]
            changes[name] = value
        elif name == "request_defaults":
            changes[name] = _request_defaults(value, errors)
        elif name == "identity_defaults":
            changes[name] = _identity_defaults(value, errors)
    if errors:
        summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(errors.items()))
        raise ValidationFailed(f"Invalid input: {summary}", {"fields": errors})
    return changes
