"""An SLA policy's declaration: its due time, reminders, escalation levels and outcome at expiry.

A policy reads, in workspace.json::

    "sla_policies": {"purchase-standard": {
        "calendar": "paris-office",            # optional: without one, time runs around the clock
        "due_after": "16h",                    # business time after the request opens
        "remind_every": "4h", "max_reminders": 3,
        "escalations": [{"after": "8h", "to_users": ["lead@example.com"]},
                        {"after": "12h", "to_groups": ["directors"]}],
        "at_expiry": {"auto_approve": "Approve"}}}   # or "expire" (the default), or {"auto_reject": "Reject"}

Durations are business time in seconds, minutes or hours ("90m", "16h", or a number of seconds): a "day" is
refused, since how long a working day is depends on the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugin.engine.interpreter.spec import duration_seconds

EXPIRE = "expire"
AUTO_APPROVE = "auto_approve"
AUTO_REJECT = "auto_reject"
MAX_POLICY_REMINDERS = 50
POLICY_FIELDS = ("description", "calendar", "due_after", "remind_every", "max_reminders", "escalations",
                 "at_expiry")


class PolicyError(ValueError):
    """A policy that cannot be applied (the message says why, in plain words)."""


@dataclass(frozen=True)
class Escalation:
    """One level: after this much business time, these people are added to the request."""

    after: str
    seconds: float
    users: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """A parsed policy (durations in business seconds)."""

    name: str
    calendar: str
    due_after: str
    due_seconds: float | None
    remind_seconds: float | None
    max_reminders: int
    escalations: tuple[Escalation, ...]
    at_expiry: str
    expiry_resolution: str | None


def business_seconds(value: Any) -> float:
    """Seconds of business time in a policy duration; PolicyError in plain words."""
    if isinstance(value, str) and value.strip().endswith("d"):
        raise PolicyError(f"{value!r}: give business time in hours (e.g. '16h'), not days: how long a working "
                          "day is depends on the calendar")
    try:
        seconds = duration_seconds(value)
    except ValueError:
        raise PolicyError(f"{value!r} is not a duration of business time (seconds, or e.g. '90m', '16h')") from None
    if seconds <= 0:
        raise PolicyError(f"{value!r} must be more than zero")
    return seconds


def _at_expiry(value: Any) -> tuple[str, str | None]:
    if value == EXPIRE:
        return EXPIRE, None
    if isinstance(value, dict) and len(value) == 1:
        ((outcome, resolution),) = value.items()
        if outcome in (AUTO_APPROVE, AUTO_REJECT) and isinstance(resolution, str) and resolution.strip():
            return outcome, resolution
    raise PolicyError(f"must be \"expire\", {{\"auto_approve\": \"<resolution>\"}} or "
                      f"{{\"auto_reject\": \"<resolution>\"}}, not {value!r}")


def _names(level: dict[str, Any], key: str, index: int) -> tuple[str, ...]:
    values = level.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise PolicyError(f"escalations[{index}].{key} must be a list of names")
    return tuple(values)


def _escalations(raw: Any) -> tuple[Escalation, ...]:
    if not isinstance(raw, list):
        raise PolicyError("escalations must be a list of {\"after\", \"to_users\", \"to_groups\"}")
    levels = []
    for index, level in enumerate(raw):
        if not isinstance(level, dict) or "after" not in level:
            raise PolicyError(f"escalations[{index}] must be an object with \"after\" and to_users or to_groups")
        unknown = sorted(set(level) - {"after", "to_users", "to_groups"})
        if unknown:
            raise PolicyError(f"escalations[{index}] has unknown fields {unknown} (after, to_users, to_groups)")
        try:
            seconds = business_seconds(level["after"])
        except PolicyError as exc:
            raise PolicyError(f"escalations[{index}].after {exc}") from None
        users, groups = _names(level, "to_users", index), _names(level, "to_groups", index)
        if not users and not groups:
            raise PolicyError(f"escalations[{index}] names nobody: give to_users or to_groups")
        if levels and seconds <= levels[-1].seconds:
            raise PolicyError(f"escalations[{index}] comes after {level['after']!r}, not later than the level "
                              f"before it ({levels[-1].after!r}): list the levels in the order they happen")
        levels.append(Escalation(str(level["after"]), seconds, users, groups))
    return tuple(levels)


def _duration_field(spec: dict[str, Any], name: str) -> float | None:
    if spec.get(name) is None:
        return None
    try:
        return business_seconds(spec[name])
    except PolicyError as exc:
        raise PolicyError(f"{name} {exc}") from None


def parse_policy(name: str, spec: Any, calendars: set[str] | dict[str, Any]) -> Policy:
    """A Policy from its declaration; PolicyError naming the field and the problem."""
    if not isinstance(spec, dict):
        raise PolicyError("must be an object (calendar, due_after, remind_every, escalations, at_expiry)")
    unknown = sorted(set(spec) - set(POLICY_FIELDS))
    if unknown:
        raise PolicyError(f"unknown fields {unknown} (a policy has {', '.join(POLICY_FIELDS)})")
    calendar = spec.get("calendar", "")
    if calendar and calendar not in calendars:
        known = ", ".join(sorted(calendars)) or "none declared"
        raise PolicyError(f"calendar {calendar!r} is not a calendar of the workspace (calendars: {known})")
    due = _duration_field(spec, "due_after")
    remind = _duration_field(spec, "remind_every")
    max_reminders = spec.get("max_reminders", 3)
    if isinstance(max_reminders, bool) or not isinstance(max_reminders, int) or \
            not 0 <= max_reminders <= MAX_POLICY_REMINDERS:
        raise PolicyError(f"max_reminders must be a whole number from 0 to {MAX_POLICY_REMINDERS}")
    levels = _escalations(spec.get("escalations", []))
    try:
        outcome, resolution = _at_expiry(spec.get("at_expiry", EXPIRE))
    except PolicyError as exc:
        raise PolicyError(f"at_expiry {exc}") from None
    if due is None and "at_expiry" in spec:
        raise PolicyError("at_expiry needs due_after: without a due time nothing expires")
    if due is None and not remind and not levels:
        raise PolicyError("sets nothing: give due_after, remind_every or escalations")
    if due is not None and levels and levels[-1].seconds >= due:
        raise PolicyError(f"escalations: the level after {levels[-1].after!r} comes at or after the due time "
                          f"({spec['due_after']!r}), so it would never happen")
    return Policy(name=name, calendar=calendar, due_after=str(spec.get("due_after") or ""), due_seconds=due,
                  remind_seconds=remind, max_reminders=max_reminders if remind else 0, escalations=levels,
                  at_expiry=outcome, expiry_resolution=resolution)
