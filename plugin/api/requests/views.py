"""Requests: the caller's inbox, one request, and Resolve / Reassign / Cancel request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from flask import Response, current_app
from flask import request as http_request
from flask_smorest import Blueprint
from marshmallow import RAISE

from plugin import metrics
from plugin.api.http import abuse_limits, rate_limits
from plugin.api.http.auth import acting_person, authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.http.conditional import json_answer
from plugin.api.openapi.errors import error_documenter
from plugin.api.requests.admitted_lock import admitted_first_try
from plugin.api.requests.list_args import plain_query
from plugin.api.requests.page import inbox_page
from plugin.api.schemas import (
    CancelRequestBody,
    ReassignBody,
    RequestListArgs,
    RequestPageSchema,
    RequestSchema,
    ResolveBody,
)
from plugin.api.services import Services, services
from plugin.engine import update_auth
from plugin.engine.humans import may_see
from plugin.errors import Conflict, NotFound, PluginError, ServiceUnavailable
from plugin.gateway_ops import requests as request_ops
from plugin.models import (
    PENDING,
    CancelRequestInput,
    HumanRequest,
    ReassignInput,
    ResolveInput,
    request_from_doc,
)
from plugin.readmodel import offers
from plugin.readmodel.inbox_rebuild import claim_rebuild, inbox_is_built, rebuild_inbox, release_rebuild
from plugin.store.requests.request_locks import FirstTry
from plugin.store.scripts import run_in_one_trip

log = logging.getLogger(__name__)

bp = Blueprint("requests", __name__, url_prefix="/api/v1/requests", description="Human requests")

ERRORS = {400: "Bad request", 401: "No or invalid key", 403: "Not allowed", 404: "Unknown request",
          409: "Already decided", 422: "Invalid input", 503: "Temporal or Redis unavailable"}
REBUILD_WAIT = 30.0
REQUEST_LOCK_WAIT = 20.0
REQUEST_SCHEMA = RequestSchema()  # a request as the API answers it
_LIST_ARGS = RequestListArgs()
_LIST_ENDPOINT = "requests.list_requests"
_CAPABILITY_OF = {"requests.resolve": "decide", "requests.reassign": "decide", "requests.cancel": "cancel_retry"}


_document_errors = error_documenter(bp, ERRORS)


@bp.before_request
def _auth() -> None:
    endpoint = http_request.endpoint or ""
    # GET (and HEAD) of the inbox admits the request in the Redis call that reads the page (api.requests.page); any
    # other method (OPTIONS, answered without the view) is admitted here, like every other call
    # A decision (resolve, reassign, cancel) is admitted in the script that first tries the request's lock
    # (api.requests.admitted_lock)
    deferred = (endpoint == _LIST_ENDPOINT and http_request.method in ("GET", "HEAD")) or \
        (endpoint in _CAPABILITY_OF and http_request.method == "POST")
    authenticate(("admin", "app"), admit=not deferred)
    require(_CAPABILITY_OF.get(endpoint, "read"))


@bp.after_request
def _admit_refused_early(response: Response) -> Response:
    """Admit a request whose admission its view would have joined to its read but which was answered before that
    (a 403, a 422 for its arguments): it counts all the same, and over a limit the answer is the 429."""
    admission = abuse_limits.take_admission()
    if admission is None:
        return response
    try:
        rate_limits.admit(admission)
    except (PluginError, redis.RedisError) as exc:
        return current_app.make_response(current_app.handle_user_exception(exc))
    return response


def _ensure_inbox(svc: Services) -> None:
    """Rebuild the inbox from Temporal when Redis has lost it; one process rebuilds, others wait."""
    if inbox_is_built(svc.inbox):
        return
    deadline = time.monotonic() + REBUILD_WAIT
    while time.monotonic() < deadline:
        if claim_rebuild(svc.inbox):
            try:
                count = svc.gateway.call(
                    lambda c: rebuild_inbox(c, svc.inbox, svc.settings.task_queue), timeout=REBUILD_WAIT)
                log.info("inbox rebuilt from Temporal: %d requests", count)
                return
            finally:
                release_rebuild(svc.inbox)
        time.sleep(0.1)
        if inbox_is_built(svc.inbox):
            return
    raise ServiceUnavailable("The inbox is being rebuilt from Temporal; try again in a moment",
                             {"service": "temporal"})


def _settled_refusal(svc: Services, update_name: str, arg: Any,
                     doc: dict[str, Any] | None = None) -> PluginError | None:
    """When the inbox already shows the request settled, the refusal its own checks give (e.g. 409 naming
    who decided). The inbox holds committed versions, and a run's end snapshot writes its requests
    provisionally just before the closing task commits (a committed write replaces them): a settled request
    there is settled. ``doc`` is the inbox document when the caller has just read it, else it is read here."""
    if doc is None:
        doc = svc.inbox.get(arg.request_id)
    if doc is None or doc["status"] == PENDING:
        return None
    return request_ops.refusal(update_name, request_from_doc(doc), arg)


def _send(update_name: str, arg: Any, prepare: Callable[[Any, dict[str, Any] | None], Any] | None = None,
          first_try: FirstTry | None = None) -> HumanRequest:
    """Send a request update and write the answer into the inbox at once (read-your-writes).

    Updates to one request go one at a time (a Redis lock, so across API processes): a crowd pressing the
    same button gets its answers from the first decision instead of queueing dozens of updates on one run.
    Taking the lock reads the request in the same round trip; ``prepare`` may complete the update from it (a
    delegate's ``acting_for``). ``first_try``: the lock's first try with the request's admission joined to it.
    """
    svc = services()
    token, doc = svc.request_locks.acquire(arg.request_id, REQUEST_LOCK_WAIT, first_try)
    if token is None:
        raise ServiceUnavailable("Too many changes to this request at once; try again", {"service": "redis"})
    held = True
    try:
        if prepare is not None:
            arg = prepare(arg, doc)
        refused = _settled_refusal(svc, update_name, arg, doc)
        if refused is not None:
            raise refused
        arg = update_auth.signed(svc.settings.decision_secret, request_ops.UPDATES[update_name], arg)
        try:
            request = svc.gateway.call(lambda c: request_ops.update_request(c, update_name, arg),
                                       timeout=request_ops.UPDATE_WAIT + 7)
        except (NotFound, ServiceUnavailable) as exc:
            settled = _settled_refusal(svc, update_name, arg)  # e.g. the run ended as this update queued
            if settled is None:
                raise
            raise settled from exc
        try:  # the worker's own write of this version is then a no-op; then the lock is freed, in one round trip
            run_in_one_trip([svc.inbox.put_call(request), svc.request_locks.release_call(arg.request_id, token)])
            held = False
        except redis.RedisError as exc:  # the change is in Temporal; the worker's activity updates the inbox
            metrics.REDIS_ERRORS.labels("inbox_write").inc()
            log.warning("inbox write after %s failed: %s", update_name, exc)
        return request
    finally:
        try:
            if held:
                svc.request_locks.release(arg.request_id, token)
        except redis.RedisError as exc:  # it expires by itself
            log.warning("freeing the lock of %s failed: %s", arg.request_id, exc)


def send_update(update_name: str, arg: Any) -> HumanRequest:
    """Send a request update (``resolve``, ``reassign``, ``cancel``) as the API does; for other blueprints
    (signed approval links)."""
    return _send(update_name, arg)


def ensure_inbox() -> None:
    """Rebuild the inbox from Temporal when Redis has lost it (for other blueprints)."""
    _ensure_inbox(services())


@bp.route("")
@plain_query(_LIST_ARGS)
@bp.arguments(RequestListArgs, location="query", unknown=RAISE)
@bp.response(200, RequestPageSchema)
@bp.alt_response(304, description="Not modified: If-None-Match names the page's current ETag")
@_document_errors(400, 401, 422, 503)
def list_requests(args: dict):
    """Get requests: the caller's requests, as a user or through a group, newest first."""
    page = inbox_page(services(), args, _ensure_inbox)
    # The stored documents already have the response shape: answer them as they are (no re-encoding).
    return json_answer(page.to_json().encode())


@bp.route("/<request_id>")
@bp.response(200, RequestSchema)
@bp.alt_response(304, description="Not modified: If-None-Match names the request's current ETag")
@_document_errors(400, 401, 404, 503)
def get_request(request_id: str):
    """One request the caller may see (404 for others: existence is not leaked)."""
    who = current_identity(required=True)
    svc = services()
    _ensure_inbox(svc)
    doc = svc.inbox.get(request_id)
    if doc is not None and not may_see(HumanRequest(**{**doc, "decisions": [], "form": []}), who):
        absent = offers.offered_to(svc.absences, who, doc)  # a delegate's, out of office
        doc = {**doc, "offered_for": absent} if absent else None
    if doc is None:
        raise NotFound(f"Request {request_id} not found")
    return json_answer(current_app.json.response(REQUEST_SCHEMA.dump(doc)).get_data())


@bp.route("/<request_id>/resolve", methods=["POST"])
@bp.arguments(ResolveBody)
@bp.response(200, RequestSchema)
@_document_errors(400, 401, 403, 404, 409, 422, 503)
def resolve(body: dict, request_id: str):
    """Resolve request: one person's decision, answered synchronously by the workflow."""
    update = ResolveInput(request_id=request_id, resolution=body["resolution"], identity=acting_person(),
                          comment=body["comment"], payload=body["payload"])
    return resolve_one(update, admitted_first_try())[0]


def resolve_one(update: ResolveInput, first_try: FirstTry | None = None) -> tuple[HumanRequest, bool]:
    """One decision as Resolve request makes it (also each item of a bulk decision): sent under the request's
    lock, written back to the inbox, and a repeat of the caller's own decision answered as it stands (then
    True: nothing new was recorded). Raises the PluginError the decision would be refused with. ``first_try``:
    see ``_send``."""
    try:
        request = _send("resolve", update,  # a delegate decides for an absent assignee (out of office)
                        lambda arg, doc: offers.with_acting_for(services().absences, arg, doc), first_try)
    except Conflict:
        repeated = _repeated_decision(services(), update)
        if repeated is None:
            raise
        return repeated, True
    count_decision(request)
    return request, False


def count_decision(request: HumanRequest) -> None:
    """Observe how long the request waited, when the decision just made settled it (for Slack's decisions too)."""
    if request.status != PENDING and request.resolved_at:  # this decision settled it
        opened, decided = datetime.fromisoformat(request.created_at), datetime.fromisoformat(request.resolved_at)
        metrics.DECISION_LATENCY.labels(request.query).observe(max(0.0, (decided - opened).total_seconds()))


def _repeated_decision(svc: Services, update: ResolveInput) -> HumanRequest | None:
    """The request as decided when the caller's own decision on it is this very one (same resolution and
    payload): a host retrying a decision gets 200, not 409. None otherwise."""
    user = update.identity.user.lower()

    def mine(request: HumanRequest | None) -> bool:
        decided = [d for d in request.decisions if d.actor == user] if request is not None else []
        return bool(decided) and decided[-1].resolution == update.resolution and \
            decided[-1].payload == update.payload and (may_see(request, update.identity) or bool(
                decided[-1].acting_for) and decided[-1].acting_for in request.users)

    doc = svc.inbox.get(update.request_id)
    request = request_from_doc(doc) if doc is not None else None
    if not mine(request):  # the inbox may not show it yet: ask the run
        request = svc.gateway.call(lambda c: request_ops.current_request(c, update.request_id))
    return request if mine(request) else None


@bp.route("/<request_id>/reassign", methods=["POST"])
@bp.arguments(ReassignBody)
@bp.response(200, RequestSchema)
@_document_errors(400, 401, 403, 404, 409, 422, 503)
def reassign(body: dict, request_id: str):
    """Reassign (delegate) a pending request: the new users and groups replace the assignees."""
    update = ReassignInput(request_id=request_id, identity=acting_person(), to_users=body["to_users"],
                           to_groups=body["to_groups"], comment=body["comment"])
    return _send("reassign", update, first_try=admitted_first_try())


@bp.route("/<request_id>/cancel", methods=["POST"])
@bp.arguments(CancelRequestBody)
@bp.response(200, RequestSchema)
@_document_errors(400, 401, 403, 404, 409, 503)
def cancel(body: dict, request_id: str):
    """Cancel a pending request (admins); the step waiting on it fails with RequestCancelled."""
    update = CancelRequestInput(request_id=request_id, identity=acting_person(), comment=body["comment"])
    return _send("cancel", update, first_try=admitted_first_try())
