"""Out-of-office rules: which absent assignee a delegate may decide a request for, and who else to notify.

The absences themselves are in Redis (``plugin.store.requests.absences``); these pure rules are shared by the API (inbox
listings, the ``acting_for`` it vouches for in a decision), the approval links and the ``notify`` activity, so
an offer shown is an offer the workflow's validator (``humans.check_acting_for``) accepts.
One hop only: a delegate is offered requests naming the absent person, never those of whoever the absent person
stands in for.
"""

from __future__ import annotations

from plugin.engine.humans import is_assignee
from plugin.models import PENDING, HumanRequest, Identity
from plugin.store.requests.absences import Absence


def _has_voted(request: HumanRequest, person: str) -> bool:
    return any(person in (d.actor, d.acting_for) for d in request.decisions)


def stands_in(request: HumanRequest, delegate: str, absence: Absence) -> bool:
    """True when this absence makes ``delegate`` a stand-in on this pending request: the absent person is a named
    assignee, the delegate is not one (they decide as themselves), and the absence covers the request's query."""
    return (request.status == PENDING and absence.delegate == delegate and absence.user in request.users
            and delegate not in request.users and absence.covers(request.query))


def may_stand_in(request: HumanRequest, delegate: str, absence: Absence) -> bool:
    """``stands_in``, and the delegate may decide it now: whoever started it is neither of them (unless
    self-approval is allowed) and neither has decided it yet. What an inbox offers."""
    absent = absence.user
    return (stands_in(request, delegate, absence)
            and (request.allow_self_approval or request.requester not in (delegate, absent))
            and not _has_voted(request, absent) and not _has_voted(request, delegate))


def offered_for(request: HumanRequest, who: Identity, absences: list[Absence]) -> str:
    """The absent assignee this request is offered to ``who`` for ('' when it is theirs or not offered).

    ``absences`` are those active now that name ``who`` as delegate; an assignee decides as themselves."""
    if not who.user or is_assignee(request, who):
        return ""
    me = who.user.lower()
    return next((a.user for a in absences if may_stand_in(request, me, a)), "")


def acting_for(request: HumanRequest, who: Identity, absences: list[Absence]) -> str:
    """The absent assignee a decision by ``who`` is made for: the one offered, else the first they stand in for
    (the workflow's validator then says why it may not be decided: started by one of them, already decided)."""
    offered = offered_for(request, who, absences)
    if offered or not who.user or is_assignee(request, who):
        return offered
    me = who.user.lower()
    return next((a.user for a in absences if stands_in(request, me, a)), "")


def delegates_to_notify(request: HumanRequest, absences: list[Absence]) -> dict[str, str]:
    """For a notification: each delegate (not an assignee already) and the absent assignee they stand in for,
    from the active absences of the request's users."""
    found: dict[str, str] = {}
    for absence in sorted(absences, key=lambda a: a.user):
        if may_stand_in(request, absence.delegate, absence):
            found.setdefault(absence.delegate, absence.user)
    return found
