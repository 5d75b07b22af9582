"""The ``details`` of each error code, defined once: the OpenAPI document shows them and every error the API
sends is checked against them (a mismatch is logged as a bug, the answer still goes out)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

log = logging.getLogger(__name__)

_TEXT = {"type": "string"}


def _obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(required), "properties": properties}


FIELD_MESSAGES = {"type": "object", "additionalProperties": {"type": "array", "items": _TEXT},
                  "description": "field name (dotted for nested, e.g. input.amount) -> messages"}

# code -> JSON Schema of its details. Codes not listed here (framework answers such as 405 or 413) carry
# details of their own owners' choosing.
ERROR_DETAILS: dict[str, dict[str, Any]] = {
    "bad_request": _obj(header={**_TEXT, "description": "the request header at fault, if one is"}),
    "unauthorized": _obj(
        reason={**_TEXT, "description": "why a user's proof was refused (missing_token, expired, bad_signature...)"},
        header={**_TEXT, "description": "the header that carries (or should carry) the proof"}),
    "forbidden": _obj(field={**_TEXT, "description": "the query argument that asks for too much, if one does"},
                      origin={"type": ["string", "null"], "description": "a browser origin that may not call"},
                      capability={"enum": ["read", "trigger", "decide", "cancel_retry", "admin"],
                                  "description": "the key capability the call needs and the key lacks"}),
    "not_found": _obj(connection={**_TEXT, "description": "the connection asked for"},
                      secret={**_TEXT, "description": "the secret asked for"}),
    "conflict": _obj(
        secret={**_TEXT, "description": "a secret set by an environment variable, which wins"},
        reason={**_TEXT, "description": "why an approval link cannot be used now (used, stale)"},
        status={**_TEXT, "description": "the state of the run or request that prevents the change"},
        resolution={"type": ["string", "null"]}, decided_by={"type": ["string", "null"]},
        decided_at={"type": ["string", "null"]},
        workflow={**_TEXT, "description": "a workflow no longer offered"},
        query={"type": ["string", "null"], "description": "a query no longer offered"},
        panel={**_TEXT, "description": "a panel that works only as its own page, not as a custom widget"}),
    "validation_failed": _obj(
        ("fields",), fields=FIELD_MESSAGES,
        allowed={"type": "array", "items": _TEXT, "description": "the values one field may take"},
        header={**_TEXT, "description": "the request header at fault, if one is"},
        slack_error={**_TEXT, "description": "Slack's error code (invalid_auth, channel_not_found...)"}),
    "run_failed": _obj(("run_id", "status", "status_url"), run_id=_TEXT, status=_TEXT, status_url=_TEXT,
                       error={"type": ["object", "null"], "description": "type, message and step of the failure"}),
    "service_unavailable": _obj(("service",), service={"enum": ["temporal", "redis", "worker", "slack"]}),
    "rate_limited": _obj(("retry_after",), retry_after={"type": "integer", "description": "seconds (as Retry-After)"},
                         limit={**_TEXT, "description": "the limit that was reached, e.g. 30 per 1 minute"}),
    "internal_error": _obj(),
}


@cache
def _validator(code: str) -> Draft202012Validator:
    return Draft202012Validator(ERROR_DETAILS[code])


def details_problems(code: str, details: dict[str, Any]) -> list[str]:
    """Where details do not follow their code's definition (empty when they do, or the code is not defined)."""
    if code not in ERROR_DETAILS:
        return []
    return [f"{'.'.join(map(str, e.absolute_path)) or 'details'}: {e.message}"
            for e in _validator(code).iter_errors(details)]


def check_details(code: str, details: dict[str, Any]) -> None:
    """Log an error (a bug in the API) when details do not follow their code's definition."""
    problems = details_problems(code, details)
    if problems:
        log.error("error %s sent with details that break its definition: %s", code, "; ".join(problems))
