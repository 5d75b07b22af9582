"""What a node-based definition may contain: step kinds, their fields, durations, the version hash.

Plain data and pure functions, shared by the validator (at load time) and the interpreter (in workflow
code), so both read a definition the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from plugin.models import AssignRequest

NODE_WORKFLOW = "node_workflow"
# Names every template may read.
BASE_NAMES = frozenset({"input", "steps", "state", "run"})
STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TOP_LEVEL_FIELDS = {"$schema", "id", "name", "version", "description", "input", "steps", "output", "limits"}
COMMON_FIELDS = {"id", "kind", "name", "timeout", "retry", "on_error", "save_as"}
RETRY_FIELDS = {"max_attempts", "initial_interval", "backoff", "max_interval", "retry_on_status"}
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PARALLEL_MODES = ("all", "any", "first_failure")
SQL_MODES = ("rows", "one", "execute")
DEFAULT_RETRY_ON_STATUS = (408, 425, 429, 500, 502, 503, 504)
# Approval fields come from the AssignRequest dataclass, so options added there flow through.
APPROVAL_FIELDS = frozenset(f.name for f in dataclasses.fields(AssignRequest))

KIND_FIELDS: dict[str, frozenset[str]] = {
    "http": frozenset({"method", "url", "connection", "path", "headers", "query", "body", "accept_status"}),
    "sql": frozenset({"connection", "statement", "params", "mode", "max_rows"}),
    "approval": APPROVAL_FIELDS,
    "delay": frozenset({"duration", "until"}),
    "branch": frozenset({"cases", "else"}),
    "set": frozenset({"values"}),
    "parallel": frozenset({"branches", "mode"}),
    "foreach": frozenset({"items", "steps", "as", "concurrency"}),
    "call": frozenset({"workflow", "definition", "input", "wait"}),
    "respond": frozenset({"status", "body"}),
    "fail": frozenset({"message", "error_type", "details"}),
    "succeed": frozenset({"output"}),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "sql": ("connection", "statement"), "approval": ("name", "resolutions"), "set": ("values",), "branch": ("cases",),
    "parallel": ("branches",), "foreach": ("items", "steps"), "fail": ("message",),
}
# Fields that hold templates rendered at run time (everything else is static).
TEMPLATED_FIELDS: dict[str, frozenset[str]] = {
    "http": frozenset({"url", "path", "headers", "query", "body"}),
    "sql": frozenset({"params"}),
    "approval": APPROVAL_FIELDS,
    "delay": frozenset({"duration", "until"}),
    "set": frozenset({"values"}),
    "foreach": frozenset({"items"}),
    "call": frozenset({"input"}),
    "respond": frozenset({"status", "body"}),
    "fail": frozenset({"message", "details"}),
    "succeed": frozenset({"output"}),
}
MAX_FOREACH_CONCURRENCY = 50
DEFAULT_HISTORY_LIMIT = 8000
MIN_HISTORY_LIMIT = 100

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def duration_seconds(value: Any) -> float:
    """Seconds in a duration: a number of seconds or a string such as ``"500ms"``, ``"30s"``, ``"2h"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration (use seconds or e.g. '500ms', '30s', '5m', '2h', '1d')")


def definition_version(content: dict[str, Any]) -> str:
    """The version hash of a definition: sha256 of its canonical JSON."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def history_limit(definition: dict[str, Any]) -> int:
    """History events after which a long loop continues as new (``limits.history_events``)."""
    limits = definition.get("limits") or {}
    return int(limits.get("history_events", DEFAULT_HISTORY_LIMIT))


def child_steps(step: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Every nested step list of a step, with a label for where it sits (for walking a definition)."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    kind = step.get("kind")
    if kind == "branch":
        for i, case in enumerate(step.get("cases") or []):
            if isinstance(case, dict):
                out.append((f"cases[{i}].steps", case.get("steps") or []))
        if "else" in step:
            out.append(("else", step.get("else") or []))
    elif kind == "parallel":
        for i, branch in enumerate(step.get("branches") or []):
            if isinstance(branch, dict):
                out.append((f"branches[{i}].steps", branch.get("steps") or []))
    elif kind == "foreach":
        out.append(("steps", step.get("steps") or []))
    if step.get("on_error"):
        out.append(("on_error", step["on_error"]))
    return out
