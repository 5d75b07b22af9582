"""Out of office: ``/api/v1/absences/me`` for one's own absence, ``/api/v1/absences/{user}`` for admins (and
for oneself), ``GET /api/v1/absences`` listing them all for admins.

Setting an absence hands decisions to someone else, so it needs a proven person and the ``decide`` capability,
like a decision. The rules that keep delegation to one hop are checked here and in the store's write script.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_smorest import Blueprint

from plugin.api.absences.schemas import AbsenceBody, AbsenceListSchema, AbsenceSchema
from plugin.api.http.auth import acting_person, actor_name, authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.openapi.errors import error_documenter
from plugin.api.services import services
from plugin.errors import Forbidden, ValidationFailed
from plugin.store.requests.absences import Absence, DelegateAway

bp = Blueprint("absences", __name__, url_prefix="/api/v1/absences",
               description="Out of office: absences and their delegates")

ERRORS = {400: "Bad request", 401: "No or invalid key", 403: "Not allowed (someone else's absence, or the key "
          "may not decide)", 422: "Invalid absence", 503: "Redis unavailable"}
_document_errors = error_documenter(bp, ERRORS)


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))


def _answer(absence: Absence) -> dict[str, Any]:
    return {"user": absence.user, "starts": absence.starts, "ends": absence.ends, "delegate": absence.delegate,
            "queries": list(absence.queries), "note": absence.note, "set_by": absence.set_by,
            "set_at": absence.set_at, "active": absence.active()}


def _target(user: str | None, writing: bool) -> str:
    """Whose absence this call is about: the caller's own (``me``), or, for admins, anyone's."""
    require("decide" if writing else "read")
    if user is None:
        return acting_person().user.lower()
    who = current_identity()
    user = user.strip().lower()
    if not user or len(user) > 254:
        raise _refused("user", "Name the person by their email (at most 254 characters)")
    if who.is_admin or (who.user and who.user.lower() == user):
        return user
    raise Forbidden("Only an admin may see or change someone else's absence")


def _refused(field: str, message: str, **more: Any) -> ValidationFailed:
    return ValidationFailed(message, {"fields": {field: [message]}, **more})


def _checked(user: str, body: dict[str, Any]) -> Absence:
    starts: datetime = body["starts"]
    ends: datetime = body["ends"]
    delegate = body["delegate"].strip().lower()
    now = datetime.now(UTC)
    if ends <= starts:
        raise _refused("to", "The absence must end after it starts: 'to' is not after 'from'")
    if ends <= now:
        raise _refused("to", "The absence has already ended: 'to' is in the past")
    if delegate == user:
        raise _refused("delegate", "Choose someone else as delegate: you cannot stand in for yourself")
    known = services().workspace.queries
    unknown = sorted({q for q in body["queries"] if q not in known})
    if unknown:
        raise _refused("queries", f"Unknown quer{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}",
                       unknown=unknown)
    return Absence(user=user, starts=starts.isoformat(), ends=ends.isoformat(), delegate=delegate,
                   from_ms=int(starts.timestamp() * 1000), to_ms=int(ends.timestamp() * 1000),
                   queries=tuple(dict.fromkeys(body["queries"])), note=body["note"].strip(),
                   set_by=actor_name().lower(), set_at=now.isoformat(timespec="seconds"))


def _put(user: str, body: dict[str, Any]) -> dict[str, Any]:
    absence = _checked(user, body)
    try:
        return _answer(services().absences.put(absence))
    except DelegateAway as exc:
        theirs = exc.theirs
        raise _refused("delegate", f"{theirs.user} is away themselves from {theirs.starts} to {theirs.ends}: "
                       "choose someone who is in (requests are handed on one step only)",
                       delegate_away={"from": theirs.starts, "to": theirs.ends}) from None


def _get(user: str) -> dict[str, Any]:
    """The user's absence; none set is answered 200 with empty fields (a host's page-load query that fails on
    every visit of someone who is in would show an error each time)."""
    absence = services().absences.get(user)
    if absence is None:
        return {"user": user, "starts": None, "ends": None, "delegate": None, "queries": [], "note": "",
                "set_by": None, "set_at": None, "active": False}
    return _answer(absence)


def _delete(user: str) -> None:
    services().absences.delete(user)  # ending what is not there is done too (a host may send it twice)


@bp.route("/me", methods=["GET"])
@bp.response(200, AbsenceSchema)
@_document_errors(400, 401, 403, 503)
@bp.doc(operationId="getMyAbsence")
def get_mine():
    """Your absence (current, coming, or ended in the last week); with none set, from, to and delegate are
    null."""
    return _get(_target(None, writing=False))


@bp.route("/me", methods=["PUT"])
@bp.arguments(AbsenceBody)
@bp.response(200, AbsenceSchema)
@_document_errors(400, 401, 403, 422, 503)
@bp.doc(operationId="setMyAbsence")
def put_mine(body: dict):
    """Set (or replace) your absence: while it lasts, your requests are offered to the delegate too."""
    return _put(_target(None, writing=True), body)


@bp.route("/me", methods=["DELETE"])
@bp.response(204)
@_document_errors(400, 401, 403, 503)
@bp.doc(operationId="endMyAbsence")
def delete_mine():
    """End your absence now: the delegate is no longer offered your requests."""
    _delete(_target(None, writing=True))


@bp.route("/<user>", methods=["GET"])
@bp.response(200, AbsenceSchema)
@_document_errors(400, 401, 403, 503)
@bp.doc(operationId="getAbsence")
def get_one(user: str):
    """Someone's absence (admins; anyone for themselves)."""
    return _get(_target(user, writing=False))


@bp.route("/<user>", methods=["PUT"])
@bp.arguments(AbsenceBody)
@bp.response(200, AbsenceSchema)
@_document_errors(400, 401, 403, 422, 503)
@bp.doc(operationId="setAbsence")
def put_one(body: dict, user: str):
    """Set someone's absence (admins; anyone for themselves)."""
    return _put(_target(user, writing=True), body)


@bp.route("/<user>", methods=["DELETE"])
@bp.response(204)
@_document_errors(400, 401, 403, 503)
@bp.doc(operationId="endAbsence")
def delete_one(user: str):
    """End someone's absence (admins; anyone for themselves)."""
    _delete(_target(user, writing=True))


@bp.route("", methods=["GET"])
@bp.response(200, AbsenceListSchema)
@_document_errors(401, 403, 503)
@bp.doc(operationId="listAbsences")
def list_all():
    """Every absence (admins): current, coming, and those ended in the last week, soonest ending first."""
    require("read")
    if not current_identity().is_admin:
        raise Forbidden("Only an admin may list everyone's absences")
    return {"absences": [_answer(a) for a in services().absences.all()]}
