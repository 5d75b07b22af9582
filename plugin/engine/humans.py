"""Human requests inside a workflow: who may decide, how a decision applies, when a request is done.

Pure functions over the dataclasses in ``models``; the workflow base class calls them from its update
validator and handler, so the same rules answer both. Deterministic: no clock, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.exceptions import ApplicationError

from plugin.engine.evidence import evidence_hash, evidence_of
from plugin.engine.request_options import form_errors
from plugin.models import (
    CANCELLED,
    PENDING,
    RESOLVED,
    CancelRequestInput,
    Decision,
    HumanRequest,
    Identity,
    ReassignInput,
    RequestOutcome,
    ResolveInput,
)

# ApplicationError types the API maps to HTTP statuses.
NOT_FOUND = "NotFound"
FORBIDDEN = "Forbidden"
CONFLICT = "Conflict"
INVALID = "ValidationFailed"


def is_assignee(request: HumanRequest, who: Identity) -> bool:
    """True when the person is named on the request directly or through one of their groups."""
    return who.user.lower() in request.users or bool(set(who.groups) & set(request.groups))


def may_see(request: HumanRequest, who: Identity) -> bool:
    """Assignees, the requester and admins may see a request; nobody else learns it exists."""
    return who.is_admin or is_assignee(request, who) or (bool(who.user) and who.user.lower() == request.requester)


def readable_minute(at: str) -> str:
    """An ISO time as people read it in a message ("2026-12-07 17:57 UTC"); the details keep the exact time."""
    try:
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(at)


def _visible_and_pending(request: HumanRequest | None, request_id: str, who: Identity) -> HumanRequest:
    if request is None or not may_see(request, who):
        raise ApplicationError(f"Request {request_id} not found", type=NOT_FOUND)
    if request.status != PENDING:
        last = request.decisions[-1] if request.decisions else None
        by = f" by {last.actor} at {readable_minute(last.at)}" if last else ""
        raise ApplicationError(
            f"Request {request.id} is already {request.status}{by}",
            {"status": request.status, "resolution": request.resolution,
             "decided_by": last.actor if last else None, "decided_at": last.at if last else None},
            type=CONFLICT,
        )
    return request


def check_resolve(request: HumanRequest | None, update: ResolveInput) -> None:
    """Raise an ApplicationError (typed for the API) when this decision may not be applied."""
    who = update.identity
    if update.acting_for:
        request = check_acting_for(request, update)
    else:
        request = _visible_and_pending(request, update.request_id, who)
        if not is_assignee(request, who):
            raise ApplicationError(f"{who.user or 'This caller'} is not an assignee of request {request.id}",
                                   type=FORBIDDEN)
        if not request.allow_self_approval and who.user.lower() == request.requester:
            raise ApplicationError("You may not decide a request you started yourself", type=FORBIDDEN)
    if update.resolution not in request.resolutions:
        raise ApplicationError(
            f"Resolution {update.resolution!r} is not allowed; choose one of {request.resolutions}",
            {"fields": {"resolution": [f"Must be one of: {', '.join(request.resolutions)}."]},
             "allowed": request.resolutions},
            type=INVALID,
        )
    for person in filter(None, (who.user.lower(), update.acting_for.lower())):
        if any(person in (d.actor, d.acting_for) for d in request.decisions):
            raise ApplicationError(f"{person} has already decided request {request.id}", type=CONFLICT)
    errors = form_errors(request.form, update.payload)
    if errors:
        summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        raise ApplicationError(f"The form is not filled in correctly: {summary}", {"fields": errors}, type=INVALID)


def check_acting_for(request: HumanRequest | None, update: ResolveInput) -> HumanRequest:
    """A delegate deciding for an absent assignee (the API vouched for the absence and signed the update):
    the absent person is a named assignee, the delegate is not one (they decide as themselves), and neither
    started the request unless self-approval is allowed. One hop: only a named assignee is acted for."""
    who, absent = update.identity, update.acting_for.lower()
    if request is None or absent not in request.users or not who.user:
        raise ApplicationError(f"Request {update.request_id} not found", type=NOT_FOUND)
    request = _visible_and_pending(request, update.request_id, Identity(user=absent))
    if is_assignee(request, who):
        raise ApplicationError(f"{who.user} is an assignee of request {request.id}: decide as yourself",
                               type=FORBIDDEN)
    if not request.allow_self_approval and request.requester == who.user.lower():
        raise ApplicationError("You may not decide a request you started yourself", type=FORBIDDEN)
    if not request.allow_self_approval and request.requester == absent:
        raise ApplicationError(f"You may not decide for {absent} a request they started themselves", type=FORBIDDEN)
    return request


def check_reassign(request: HumanRequest | None, update: ReassignInput) -> None:
    """Only an assignee or an admin may hand a pending request to others, and there must be someone."""
    who = update.identity
    request = _visible_and_pending(request, update.request_id, who)
    if not (who.is_admin or is_assignee(request, who)):
        raise ApplicationError(f"Only an assignee or an admin may reassign request {request.id}", type=FORBIDDEN)
    if not any(u.strip() for u in update.to_users) and not any(g.strip() for g in update.to_groups):
        raise ApplicationError("Name at least one user or group to reassign to",
                               {"fields": {"to_users": ["Name at least one user or group."]}}, type=INVALID)


def apply_reassign(request: HumanRequest, update: ReassignInput) -> None:
    """The new assignees replace the old ones."""
    request.users = sorted({u.strip().lower() for u in update.to_users if u.strip()})
    request.groups = sorted({g.strip() for g in update.to_groups if g.strip()})
    request.version += 1


def check_cancel(request: HumanRequest | None, update: CancelRequestInput) -> None:
    """Only admins cancel a request directly (others cancel the run)."""
    request = _visible_and_pending(request, update.request_id, update.identity)
    if not update.identity.is_admin:
        raise ApplicationError(f"Only an admin may cancel request {request.id}", type=FORBIDDEN)


def close_request(request: HumanRequest, status: str, now: str, resolution: str | None = None) -> None:
    """End a pending request as cancelled, expired or (by its due resolution) resolved."""
    request.status = status
    request.resolution = resolution
    request.resolved_at = now
    request.version += 1


def cancel_pending(request: HumanRequest, now: str) -> bool:
    """Cancel the request if it is still pending; True when it was."""
    if request.status != PENDING:
        return False
    close_request(request, CANCELLED, now)
    return True


def apply_decision(request: HumanRequest, update: ResolveInput, now: str) -> None:
    """Record a decision, with the evidence of what was shown, and close the request when it settles it
    (quorum reached or a rejection)."""
    shown = evidence_of(request)
    request.decisions.append(
        Decision(actor=update.identity.user.lower(), resolution=update.resolution, at=now,
                 comment=update.comment, payload=dict(update.payload), via=update.identity.via,
                 issuer=update.identity.issuer, evidence=shown, evidence_sha256=evidence_hash(shown),
                 acting_for=update.acting_for.lower())
    )
    votes = sum(1 for d in request.decisions if d.resolution == update.resolution)
    if update.resolution in request.rejecting_resolutions or votes >= request.required_approvals:
        close_request(request, RESOLVED, now, update.resolution)
    else:
        request.version += 1


def outcome_of(request: HumanRequest) -> RequestOutcome:
    """The outcome a workflow gets back for a settled request."""
    deciding = [d for d in request.decisions if d.resolution == request.resolution]
    last = deciding[-1] if deciding else None
    return RequestOutcome(
        request_id=request.id,
        resolution=request.resolution or "",
        decided_by=[d.actor for d in deciding],
        decided_at=request.resolved_at or "",
        comment=last.comment if last else "",
        payload=dict(last.payload) if last else {},
        decisions=list(request.decisions),
    )
