"""Time on a pending request: the due time, reminders and escalation. Pure and deterministic.

A request under an SLA policy (``request.sla``) carries its reminders' and escalation levels' moments, computed
in business time when it opened (plugin/engine/sla/); others count reminders from ``remind_every_seconds`` and
have at most one escalation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from plugin.models import HumanRequest, SlaEscalation

REMIND = "reminder"
ESCALATE = "escalated"
DUE = "due"


def _at(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _next_reminder(request: HumanRequest) -> datetime | None:
    if request.sla is not None:
        remind_at = request.sla.remind_at
        return _at(remind_at[request.reminders_sent]) if request.reminders_sent < len(remind_at) else None
    if not request.remind_every_seconds or request.reminders_sent >= request.max_reminders:
        return None
    at = datetime.fromisoformat(request.created_at) + timedelta(
        seconds=request.remind_every_seconds * (request.reminders_sent + 1))
    due = _at(request.due_at)
    return None if due is not None and at >= due else at


def upcoming(request: HumanRequest) -> list[tuple[datetime, str]]:
    """The timed events still ahead for a pending request, earliest first."""
    events = []
    reminder = _next_reminder(request)
    if reminder is not None:
        events.append((reminder, REMIND))
    level = _next_level(request)
    if level is not None:
        events.append((datetime.fromisoformat(level.at), ESCALATE))
    elif request.escalate_at and not request.escalated:
        events.append((datetime.fromisoformat(request.escalate_at), ESCALATE))
    if request.due_at:
        events.append((datetime.fromisoformat(request.due_at), DUE))
    return sorted(events)


def seconds_to_next(request: HumanRequest, now: datetime) -> float | None:
    """How long to wait before the next timed event (None: wait for people only)."""
    events = upcoming(request)
    if not events:
        return None
    return max((events[0][0] - now).total_seconds(), 0.001)


def due_now(request: HumanRequest, now: datetime) -> list[str]:
    """The timed events that have come, in order (``due`` last, since it ends the request)."""
    return [kind for at, kind in upcoming(request) if at <= now]


def _next_level(request: HumanRequest) -> SlaEscalation | None:
    """The policy's next escalation level still to come (None without a policy or when all have come)."""
    if request.sla is None:
        return None
    return next((level for level in request.sla.escalations if not level.done), None)


def escalate(request: HumanRequest) -> dict[str, Any]:
    """Add the people of the escalation that has come to the request; the audit entry's details."""
    level = _next_level(request)
    details: dict[str, Any]
    if level is not None:
        assert request.sla is not None
        level.done = True
        number = request.sla.escalations.index(level) + 1
        details = {"users": level.users, "groups": level.groups, "level": number, "policy": request.sla.policy}
    else:
        details = {"users": request.escalate_to_users, "groups": request.escalate_to_groups}
    request.escalated = True
    request.users = sorted(set(request.users) | set(details["users"]))
    request.groups = sorted(set(request.groups) | set(details["groups"]))
    request.version += 1
    return details
