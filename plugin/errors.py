"""The plugin's error hierarchy: each error knows the HTTP status and code it answers with."""

from __future__ import annotations

from typing import Any


class PluginError(Exception):
    """Base of every error the plugin raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(PluginError):
    """A setting or a workspace file is wrong; raised at start-up."""

    code = "config_error"


class BadRequest(PluginError):
    """The request cannot be read (not JSON, wrong shape)."""

    status = 400
    code = "bad_request"


class Unauthorized(PluginError):
    """No key, or a key that is not valid."""

    status = 401
    code = "unauthorized"


class Forbidden(PluginError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class NotFound(PluginError):
    """No such thing, or nothing the caller may see."""

    status = 404
    code = "not_found"


class Conflict(PluginError):
    """The thing is in a state that does not allow this (e.g. already decided)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(PluginError):
    """The body is over the configured limit."""

    status = 413
    code = "payload_too_large"


class ValidationFailed(PluginError):
    """The input does not match its schema; details name each bad field."""

    status = 422
    code = "validation_failed"


class ServiceUnavailable(PluginError):
    """A service the plugin depends on (Temporal, Redis) cannot be reached."""

    status = 503
    code = "service_unavailable"


class RunFailed(PluginError):
    """A run the caller waited for ended without completing; details carry the run id, status and error."""

    status = 422
    code = "run_failed"


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"input.amount": ["..."]}``."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": messages}
    return {prefix or "_body": [str(messages)]}


def validation_details(messages: Any) -> tuple[str, dict[str, Any]]:
    """A readable message and details naming each bad field."""
    fields = _flatten(messages)
    summary = "; ".join(f"{name}: {' '.join(msgs).rstrip('.')}" for name, msgs in sorted(fields.items()))
    return f"Invalid input: {summary}.", {"fields": fields}
