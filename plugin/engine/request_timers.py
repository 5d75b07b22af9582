"""Time on a pending request: the due time, reminders and escalation. Pure and deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta

from plugin.models import HumanRequest

REMIND = "reminder"
ESCALATE = "escalated"
DUE = "due"


def _at(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _next_reminder(request: HumanRequest) -> datetime | None:
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
    if request.escalate_at and not request.escalated:
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
