"""Applying a named SLA policy to a request as it opens, and what the policy does when the request expires.

Workflow code calls these with ``workflow.now()`` and the policies and calendars pinned in the run's input
(``RunInput.sla``: ``{"policy": the query's policy or "", "policies": {...}, "calendars": {...},
"version": digest}``). Every time is computed once, when the request opens, and kept on the request
(``HumanRequest.sla``): the durable timers wait for those moments.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.exceptions import ApplicationError

from plugin.engine.sla.business_time import CalendarError, add_business_time, business_moments, parse_calendar
from plugin.engine.sla.policy import EXPIRE, PolicyError, parse_policy
from plugin.models import SLA_DECISION_VIA, AssignRequest, Decision, HumanRequest, SlaApplied, SlaEscalation

SYSTEM_ACTOR = "system"
SYSTEM_VIA = SLA_DECISION_VIA


def policy_name_for(options: AssignRequest, pinned: dict[str, Any]) -> str | None:
    """The policy a request follows: its own ``sla_policy``, else the query's unless the request sets its own
    due time, reminders or escalation; None when no policy applies."""
    if options.sla_policy:
        return options.sla_policy
    own = (options.due_in_seconds, options.remind_every_seconds, options.escalate_after_seconds,
           options.due_resolution)
    if any(v is not None for v in own):
        return None
    return pinned.get("policy") or None


def _refuse(request: HumanRequest, message: str) -> ApplicationError:
    return ApplicationError(f"assign_request({request.name!r}): {message}", type="InvalidRequestOptions",
                            non_retryable=True)


def _users(values: tuple[str, ...]) -> list[str]:
    return sorted({u.strip().lower() for u in values if u.strip()})


def apply_policy(request: HumanRequest, pinned: dict[str, Any], name: str, now: datetime) -> None:
    """Set the request's due time, reminders, escalation levels and outcome at expiry from the named policy.

    ApplicationError (InvalidRequestOptions, not retried) when the run pinned no such policy, when the policy
    resolves expired requests with a resolution this request does not offer, or its calendar has no working time.
    """
    policies, calendars = pinned.get("policies", {}), pinned.get("calendars", {})
    if name not in policies:
        known = ", ".join(sorted(policies)) or "none"
        raise _refuse(request, f"sla_policy {name!r} is not a policy of the workspace this run started with "
                               f"(policies: {known})")
    try:
        policy = parse_policy(name, policies[name], calendars)
        calendar = parse_calendar(calendars[policy.calendar]) if policy.calendar else None
        due = add_business_time(now, policy.due_seconds, calendar) if policy.due_seconds else None
        reminders = business_moments(now, [policy.remind_seconds * n for n in range(1, policy.max_reminders + 1)],
                                     calendar) if policy.remind_seconds else []
        levels = [SlaEscalation(after=level.after, at=at.isoformat(), users=_users(level.users),
                                groups=sorted({g.strip() for g in level.groups}))
                  for level, at in zip(policy.escalations, business_moments(
                      now, [level.seconds for level in policy.escalations], calendar), strict=True)]
    except (PolicyError, CalendarError) as exc:
        raise _refuse(request, f"sla_policy {name!r}: {exc}") from None
    if policy.expiry_resolution is not None and policy.expiry_resolution not in request.resolutions:
        raise _refuse(request, f"sla_policy {name!r} resolves an expired request as {policy.expiry_resolution!r}, "
                               f"which is not among its resolutions {request.resolutions}")
    remind_at = [at.isoformat() for at in reminders if due is None or at < due]
    request.due_at = due.isoformat() if due else None
    request.due_resolution = policy.expiry_resolution
    request.remind_every_seconds = None  # the reminders' moments are in ``sla.remind_at`` (business time)
    request.max_reminders = len(remind_at)
    request.sla = SlaApplied(policy=name, calendar=policy.calendar,
                             time_zone=calendars[policy.calendar]["time_zone"] if policy.calendar else "UTC",
                             due_at=request.due_at, remind_at=remind_at, escalations=levels,
                             at_expiry=policy.at_expiry, expiry_resolution=policy.expiry_resolution,
                             version=str(pinned.get("version", "")))


def expiry_details(request: HumanRequest) -> dict[str, Any]:
    """What the audit says of an expiry under a policy (nothing for requests without one)."""
    if request.sla is None:
        return {}
    return {"policy": request.sla.policy, "outcome": request.sla.at_expiry}


def system_decision(request: HumanRequest, now: str) -> Decision | None:
    """The decision ``system`` records when a policy auto-approves or auto-rejects an expired request."""
    sla = request.sla
    if sla is None or sla.at_expiry == EXPIRE or not sla.expiry_resolution:
        return None
    return Decision(actor=SYSTEM_ACTOR, resolution=sla.expiry_resolution, at=now, via=SYSTEM_VIA,
                    comment=f"{sla.at_expiry.replace('_', '-')} at the due time under SLA policy {sla.policy!r}")
