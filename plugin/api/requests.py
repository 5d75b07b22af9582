"""Requests: the caller's inbox, one request, and Resolve request."""

from __future__ import annotations

import logging

import redis
from flask_smorest import Blueprint

from plugin import temporal_ops
from plugin.api.auth import authenticate, current_identity
from plugin.api.schemas import RequestListArgs, RequestPageSchema, RequestSchema, ResolveBody
from plugin.api.services import services
from plugin.engine.humans import may_see
from plugin.engine.models import HumanRequest, ResolveInput
from plugin.errors import NotFound

log = logging.getLogger(__name__)

bp = Blueprint("requests", __name__, url_prefix="/api/v1/requests", description="Human requests")


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))


def run_id_of(request_id: str) -> str:
    """The run a request belongs to (request ids are ``{run_id}:{n}``)."""
    run_id, sep, seq = request_id.rpartition(":")
    if not sep or not run_id or not seq.isdigit():
        raise NotFound(f"Request {request_id} not found")
    return run_id


@bp.route("")
@bp.arguments(RequestListArgs, location="query")
@bp.response(200, RequestPageSchema)
def list_requests(args: dict):
    """Get requests: the caller's requests, as a user or through a group, newest first."""
    who = current_identity(required=True)
    page = services().inbox.list_for(who, status=args["status"], name=args.get("name"),
                                     limit=args["limit"], cursor=args.get("cursor"))
    return {"requests": page.items, "next_cursor": page.next_cursor}


@bp.route("/<request_id>")
@bp.response(200, RequestSchema)
def get_request(request_id: str):
    """One request the caller may see."""
    who = current_identity(required=True)
    doc = services().inbox.get(request_id)
    if doc is None or not may_see(HumanRequest(**{**doc, "decisions": []}), who):
        raise NotFound(f"Request {request_id} not found")
    return doc


@bp.route("/<request_id>/resolve", methods=["POST"])
@bp.arguments(ResolveBody)
@bp.response(200, RequestSchema)
def resolve(body: dict, request_id: str):
    """Resolve request: one person's decision, answered synchronously by the workflow."""
    who = current_identity(required=True)
    svc = services()
    update = ResolveInput(request_id=request_id, resolution=body["resolution"], identity=who,
                          comment=body["comment"], payload=body["payload"])
    request = svc.gateway.call(lambda c: temporal_ops.resolve_request(c, run_id_of(request_id), update))
    try:
        svc.inbox.put(request)  # read-your-writes; the worker's own write of this version is then a no-op
    except redis.RedisError as exc:  # the decision is in Temporal; the worker's activity updates the inbox
        log.warning("inbox write after resolve failed: %s", exc)
    return request
