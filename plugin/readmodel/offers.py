"""A delegate's view of the inbox while colleagues are away: their requests offered too, marked
``offered_for``, and the ``acting_for`` the API vouches for when the delegate decides one.

The absences are in Redis and time-bound (``plugin.store.requests.absences``);
the rules are ``plugin.engine.delegation``.
Only pending requests are offered: a delegate's other tabs list their own requests.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from plugin.engine.delegation import acting_for, offered_for
from plugin.engine.humans import is_assignee
from plugin.models import PENDING, Identity, ResolveInput, request_from_doc
from plugin.store.inbox import COMPACT, Inbox, InboxPage
from plugin.store.requests.absences import Absence, Absences


def list_with_offers(inbox: Inbox, absences: Absences, who: Identity, status: str, name: str | None, limit: int,
                     cursor: str | None, standing_in: list[Absence] | None = None) -> InboxPage:
    """The caller's inbox page; for pending requests, merged with those of the people they stand in for now
    (``standing_in``: those absences when the caller has just read them)."""
    if standing_in is None:
        standing_in = absences.active_for_delegate(who.user) if who.user and status == PENDING else []
    if not standing_in:
        return inbox.list_for(who, status=status, name=name, limit=limit, cursor=cursor)

    def admit(text: str) -> str | None:
        doc = json.loads(text)
        request = request_from_doc(doc)
        if request.status == PENDING and _own(request.users, request.groups, who):
            return text
        absent = offered_for(request, who, standing_in)
        return json.dumps({**doc, "offered_for": absent}, separators=COMPACT) if absent else None

    return inbox.list_for(who, status=status, name=name, limit=limit, cursor=cursor,
                          also_users=tuple(a.user for a in standing_in), admit=admit)


def _own(users: list[str], groups: list[str], who: Identity) -> bool:
    return who.user.lower() in users or bool(set(groups) & set(who.groups))


def offered_to(absences: Absences, who: Identity, doc: dict[str, Any] | None) -> str:
    """The absent assignee a stored request is offered to the caller for now ('' when none)."""
    if doc is None or not who.user:
        return ""
    standing_in: list[Absence] = absences.active_for_delegate(who.user)
    return offered_for(request_from_doc(doc), who, standing_in) if standing_in else ""


def with_acting_for(absences: Absences, update: ResolveInput, doc: dict[str, Any] | None) -> ResolveInput:
    """The decision, marked ``acting_for`` the absent assignee when the caller decides the request (``doc``, as the
    inbox holds it) as their delegate now; unchanged when it is the caller's own request (no absence is read then)
    or nothing is offered."""
    who = update.identity
    if doc is None or not who.user:
        return update
    request = request_from_doc(doc)
    if is_assignee(request, who):
        return update
    me = who.user.lower()
    absent = next((d.acting_for for d in request.decisions if d.actor == me and d.acting_for), "")  # a repeat
    if not absent:
        absent = acting_for(request, who, absences.active_for_delegate(who.user))
    return dataclasses.replace(update, acting_for=absent) if absent else update
