"""Human requests inside a workflow: who may decide, how a decision applies, when a request is done.

Pure functions over the dataclasses in ``models``; the workflow base class calls them from its update
validator and handler, so the same rules answer both. Deterministic: no clock, no I/O.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from plugin.engine.models import (
    PENDING,
    RESOLVED,
    AssignRequest,
    Decision,
    HumanRequest,
    Identity,
    RequestOutcome,
    ResolveInput,
)

# ApplicationError types the API maps to HTTP statuses.
NOT_FOUND = "NotFound"
FORBIDDEN = "Forbidden"
CONFLICT = "Conflict"
INVALID = "ValidationFailed"


def check_options(options: AssignRequest) -> None:
    """Refuse request options that cannot work (a programming error in the workflow)."""
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
    if problems:
        raise ApplicationError(
            f"assign_request({options.name!r}): " + "; ".join(problems), type="InvalidRequestOptions",
            non_retryable=True,
        )


def new_request(
    options: AssignRequest, request_id: str, run_id: str, query: str, requester: str, now: str
) -> HumanRequest:
    """A pending request built from the workflow's options."""
    rejecting = options.rejecting_resolutions
    if rejecting is None:
        rejecting = list(options.resolutions[1:])
    return HumanRequest(
        id=request_id,
        run_id=run_id,
        query=query,
        name=options.name,
        message=options.message,
        metadata=dict(options.metadata),
        resolutions=list(options.resolutions),
        users=sorted({u.strip().lower() for u in options.users if u.strip()}),
        groups=sorted({g.strip() for g in options.groups if g.strip()}),
        required_approvals=options.required_approvals,
        rejecting_resolutions=list(rejecting),
        allow_self_approval=options.allow_self_approval,
        requester=requester.lower(),
        created_at=now,
    )


def is_assignee(request: HumanRequest, who: Identity) -> bool:
    """True when the person is named on the request directly or through one of their groups."""
    return who.user.lower() in request.users or bool(set(who.groups) & set(request.groups))


def may_see(request: HumanRequest, who: Identity) -> bool:
    """Assignees, the requester and admins may see a request; nobody else learns it exists."""
    return who.is_admin or is_assignee(request, who) or (bool(who.user) and who.user.lower() == request.requester)


def check_resolve(request: HumanRequest | None, update: ResolveInput) -> None:
    """Raise an ApplicationError (typed for the API) when this decision may not be applied."""
    who = update.identity
    if request is None or not may_see(request, who):
        raise ApplicationError(f"Request {update.request_id} not found", type=NOT_FOUND)
    if request.status != PENDING:
        last = request.decisions[-1] if request.decisions else None
        by = f" by {last.actor} at {last.at}" if last else ""
        raise ApplicationError(
            f"Request {request.id} is already {request.status}{by}",
            {"status": request.status, "resolution": request.resolution,
             "decided_by": last.actor if last else None, "decided_at": last.at if last else None},
            type=CONFLICT,
        )
    if not is_assignee(request, who):
        raise ApplicationError(f"{who.user or 'This caller'} is not an assignee of request {request.id}",
                               type=FORBIDDEN)
    if not request.allow_self_approval and who.user.lower() == request.requester:
        raise ApplicationError("You may not decide a request you started yourself", type=FORBIDDEN)
    if update.resolution not in request.resolutions:
        raise ApplicationError(
            f"Resolution {update.resolution!r} is not allowed; choose one of {request.resolutions}",
            {"field": "resolution", "allowed": request.resolutions},
            type=INVALID,
        )
    if any(d.actor == who.user.lower() for d in request.decisions):
        raise ApplicationError(f"{who.user} has already decided request {request.id}", type=CONFLICT)


def apply_decision(request: HumanRequest, update: ResolveInput, now: str) -> None:
    """Record a decision and close the request when it settles it (quorum reached or a rejection)."""
    request.decisions.append(
        Decision(actor=update.identity.user.lower(), resolution=update.resolution, at=now,
                 comment=update.comment, payload=dict(update.payload))
    )
    votes = sum(1 for d in request.decisions if d.resolution == update.resolution)
    if update.resolution in request.rejecting_resolutions or votes >= request.required_approvals:
        request.status = RESOLVED
        request.resolution = update.resolution
        request.resolved_at = now
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
