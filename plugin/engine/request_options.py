"""Building a request from a workflow's options, and checking a decision's form data against its form."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from plugin.models import FORM_FIELD_TYPES, AssignRequest, FormField, HumanRequest

STRICT_OPTION_TYPES_PATCH = "strict-request-option-types"
_OPTION_TYPES = typing.get_type_hints(AssignRequest)
_WORDS = {str: "a string", bool: "true or false", int: "a whole number", float: "a number", dict: "an object",
          list: "a list"}


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a field type without conversion (a string is never a list)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(hint):  # e.g. a form field: as an object, each of its fields must fit too
        if isinstance(value, hint):
            return True
        hints = typing.get_type_hints(hint)
        return isinstance(value, dict) and set(value) <= set(hints) and \
            all(_fits(v, hints[k]) for k, v in value.items())
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint) if a is not type(None))
    if origin is list:
        (item,) = typing.get_args(hint)
        return "a list of form fields" if dataclasses.is_dataclass(item) else f"a list of {_describe(item)[2:]}s"
    return _WORDS.get(origin or hint, getattr(hint, "__name__", str(hint)))


def option_problems(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each request option of the wrong type or missing, before any conversion.

    The converter would turn ``"groups": "managers"`` into the groups m, a, n...: refuse it instead.
    """
    problems = []
    for name, hint in _OPTION_TYPES.items():
        if name not in fields:
            if name in ("name", "resolutions"):
                problems.append((name, "is required"))
            continue
        if not _fits(fields[name], hint):
            problems.append((name, f"must be {_describe(hint)}, not {type(fields[name]).__name__} "
                                   f"{str(fields[name])[:40]!r}"))
    for name in sorted(set(fields) - set(_OPTION_TYPES)):
        problems.append((name, "is not a request option"))
    return problems


def _problems(options: AssignRequest) -> list[str]:
    problems = [f"{name} {message}" for name, message in option_problems(
        {f.name: getattr(options, f.name) for f in dataclasses.fields(options)})]
    # Runs that started before this check went on with such options; replaying them must not fail here.
    if problems and (not workflow.in_workflow() or workflow.patched(STRICT_OPTION_TYPES_PATCH)):
        return problems
    problems = []
    if not options.name.strip():
        problems.append("name is empty")
    if not options.resolutions:
        problems.append("resolutions is empty")
    if len(set(options.resolutions)) != len(options.resolutions):
        problems.append("resolutions has duplicates")
    if not options.users and not options.groups:
        problems.append("name at least one user or group")
    if options.required_approvals < 1:
        problems.append("required_approvals must be at least 1")
    unknown = set(options.rejecting_resolutions or []) - set(options.resolutions)
    if unknown:
        problems.append(f"rejecting_resolutions {sorted(unknown)} are not among the resolutions")
    if options.due_resolution is not None and options.due_resolution not in options.resolutions:
        problems.append(f"due_resolution {options.due_resolution!r} is not among the resolutions")
    for name in ("due_in_seconds", "remind_every_seconds", "escalate_after_seconds"):
        value = getattr(options, name)
        if value is not None and value <= 0:
            problems.append(f"{name} must be greater than zero")
    if options.escalate_after_seconds and not (options.escalate_to_users or options.escalate_to_groups):
        problems.append("escalate_after_seconds needs escalate_to_users or escalate_to_groups")
    problems += _policy_problems(options)
    names = [f.name for f in options.form]
    if len(set(names)) != len(names):
        problems.append("form has duplicate field names")
    for form_field in options.form:
        if form_field.type not in FORM_FIELD_TYPES:
            problems.append(f"form field {form_field.name!r} has unknown type {form_field.type!r}")
        if form_field.type == "select" and not form_field.options:
            problems.append(f"form field {form_field.name!r} is a select without options")
    return problems


def _policy_problems(options: AssignRequest) -> list[str]:
    """A request naming an SLA policy leaves its times to the policy (plugin/engine/sla/)."""
    if options.sla_policy is None:
        return []
    if not options.sla_policy.strip():
        return ["sla_policy is empty"]
    own = [name for name in ("due_in_seconds", "due_resolution", "remind_every_seconds", "escalate_after_seconds")
           if getattr(options, name) is not None]
    if own:
        return [f"sla_policy {options.sla_policy!r} sets the due time, reminders, escalation and outcome at "
                f"expiry: give the policy or {', '.join(own)}, not both"]
    return []


def check_options(options: AssignRequest) -> None:
    """Refuse request options that cannot work (a programming error in the workflow: not retried)."""
    problems = _problems(options)
    if problems:
        raise ApplicationError(f"assign_request({options.name!r}): " + "; ".join(problems),
                               type="InvalidRequestOptions", non_retryable=True)


def with_defaults(options: AssignRequest, defaults: dict[str, Any]) -> AssignRequest:
    """The options with the run's pinned request defaults filling a due time or reminders left unset."""
    changes: dict[str, Any] = {}
    if options.due_in_seconds is None and defaults.get("due_in_seconds"):
        changes["due_in_seconds"] = float(defaults["due_in_seconds"])
    if options.remind_every_seconds is None and defaults.get("remind_every_seconds"):
        changes["remind_every_seconds"] = float(defaults["remind_every_seconds"])
        if "max_reminders" in defaults:
            changes["max_reminders"] = int(defaults["max_reminders"])
    return dataclasses.replace(options, **changes) if changes else options


def _users(values: list[str]) -> list[str]:
    return sorted({u.strip().lower() for u in values if u.strip()})


def _groups(values: list[str]) -> list[str]:
    return sorted({g.strip() for g in values if g.strip()})


def _later(now: datetime, seconds: float | None) -> str | None:
    return (now + timedelta(seconds=seconds)).isoformat() if seconds else None


def new_request(options: AssignRequest, request_id: str, run_id: str, query: str, requester: str,
                now: datetime) -> HumanRequest:
    """A pending request built from the workflow's options."""
    rejecting = options.rejecting_resolutions
    if rejecting is None:
        rejecting = list(options.resolutions[1:])
    return HumanRequest(
        id=request_id, run_id=run_id, query=query, name=options.name, message=options.message,
        metadata=dict(options.metadata), resolutions=list(options.resolutions),
        users=_users(options.users), groups=_groups(options.groups),
        required_approvals=options.required_approvals, rejecting_resolutions=list(rejecting),
        allow_self_approval=options.allow_self_approval, requester=requester.lower(), created_at=now.isoformat(),
        form=list(options.form), due_at=_later(now, options.due_in_seconds), due_resolution=options.due_resolution,
        remind_every_seconds=options.remind_every_seconds,
        max_reminders=options.max_reminders if options.remind_every_seconds else 0,
        escalate_at=_later(now, options.escalate_after_seconds),
        escalate_to_users=_users(options.escalate_to_users), escalate_to_groups=_groups(options.escalate_to_groups),
    )


def _field_error(spec: FormField, value: Any) -> str | None:
    if spec.type == "string":
        if not isinstance(value, str):
            return "Not a valid string."
        return f"Longer than {spec.max_length} characters." if len(value) > spec.max_length else None
    if spec.type == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Not a valid number."
    if spec.type == "integer":
        return None if isinstance(value, int) and not isinstance(value, bool) else "Not a valid integer."
    if spec.type == "boolean":
        return None if isinstance(value, bool) else "Not a valid boolean."
    return None if value in spec.options else f"Must be one of: {', '.join(spec.options)}."


def form_errors(form: list[FormField], payload: dict[str, Any]) -> dict[str, list[str]]:
    """Per-field messages for payload values that do not fit the form (empty when the payload is fine)."""
    errors: dict[str, list[str]] = {}
    for spec in form:
        if spec.name not in payload or payload[spec.name] in (None, ""):
            if spec.required:
                errors[f"payload.{spec.name}"] = ["Missing data for required field."]
            continue
        message = _field_error(spec, payload[spec.name])
        if message:
            errors[f"payload.{spec.name}"] = [message]
    if form:
        for extra in sorted(set(payload) - {f.name for f in form}):
            errors[f"payload.{extra}"] = ["Unknown field."]
    return errors
