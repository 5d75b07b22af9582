"""Runs: one run's status and detail, its step timeline, and run history (list with filters)."""

from __future__ import annotations

from typing import Any

import flask
from flask_smorest import Blueprint
from marshmallow import RAISE

from plugin.api.http.auth import authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.runs import recent as recent_runs
from plugin.api.runs.answers import run_answer
from plugin.api.runs.schemas import RunListArgs, RunPageSchema, RunSchema, StepListSchema
from plugin.api.services import services
from plugin.engine.interpreter.spec import NODE_WORKFLOW
from plugin.errors import Forbidden
from plugin.gateway_ops import listing
from plugin.gateway_ops.steps import node_steps, run_steps
from plugin.models import Identity

bp = Blueprint("runs", __name__, url_prefix="/api/v1/runs", description="Run status and history")


@bp.before_request
def _auth() -> None:
    # GET (and HEAD) /runs/{id} admits the request (abuse limits) in the Redis call that reads the run's snapshot;
    # any other method on that path (OPTIONS, answered without the view) is admitted here, like every other call
    request = flask.request
    authenticate(("admin", "app"), admit=request.endpoint != "runs.get_run" or request.method not in ("GET", "HEAD"))
    require("read")


def run_filters(args: dict[str, Any], who: Identity) -> listing.RunFilters:
    """The filters of a list or bulk call; a user (not an admin) is limited to runs they started."""
    started_by = args.get("started_by")
    if not who.is_admin:
        if started_by and started_by.lower() != who.user:
            raise Forbidden("You can list only the runs you started; drop started_by or use an admin key",
                            {"field": "started_by"})
        started_by = who.user
    return listing.RunFilters(status=args.get("status"), query=args.get("query"), workflow=args.get("workflow"),
                              started_by=started_by, since=args.get("since"), until=args.get("until"))


@bp.route("")
@bp.arguments(RunListArgs, location="query", unknown=RAISE)
@bp.response(200, RunPageSchema)
@bp.alt_response(400, description="An app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="A user asked for runs started by someone else")
@bp.alt_response(422, description="A filter, the limit or the cursor is not valid (the field is named)")
@bp.alt_response(503, description="Temporal is unavailable")
def list_runs(args: dict):
    """Run history, newest first: runs started in the last seconds by start time (every run whose trigger was
    answered before the call), then open runs by start time, then ended runs by end time.

    Admins see every run; a user sees the runs they started. Pass ``next_cursor`` back as ``cursor``.
    """
    who = current_identity(required=True)
    filters = run_filters(args, who)
    cursor = listing.Cursor.decode(args["cursor"], filters) if args.get("cursor") else listing.first_cursor(filters)
    recorded = recent_runs.recorded(cursor)  # read-your-writes: the runs this API started lately
    svc = services()
    runs, next_cursor = svc.gateway.call(
        lambda c: listing.list_runs(c, svc.settings.task_queue, filters, args["limit"], cursor, recorded))
    return {"runs": runs, "next_cursor": next_cursor.encode() if next_cursor else None}


@bp.route("/<run_id>")
@bp.response(200, RunSchema)
@bp.alt_response(304, description="Not modified: If-None-Match names the run's current ETag")
@bp.alt_response(400, description="An app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(404, description="No such run, or not one the caller may see")
@bp.alt_response(503, description="Temporal is unavailable and no fresh snapshot exists")
def get_run(run_id: str):
    """Get run: status, input, output or error, timestamps, requests, decisions and retries.

    Answers carry an ``ETag``; send it back as ``If-None-Match`` to get 304 while the run is unchanged.
    """
    return run_answer(run_id)


@bp.route("/<run_id>/steps")
@bp.response(200, StepListSchema)
@bp.alt_response(400, description="An app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(404, description="No such run, or not one the caller may see")
@bp.alt_response(503, description="Temporal is unavailable")
def get_steps(run_id: str):
    """The step timeline: activities, timers, child workflows and human requests, from the whole history."""
    run = services().runs.visible(run_id, current_identity(required=True))
    read = node_steps if run["workflow"] == NODE_WORKFLOW else run_steps
    steps = services().gateway.call(lambda c: read(c, run_id))
    for request in run["requests"]:
        steps.append({"name": request["name"], "kind": "request", "status": request["status"],
                      "step_id": request["id"], "started_at": request["created_at"],
                      "ended_at": request.get("resolved_at"), "attempts": len(request.get("decisions", [])),
                      "error": None})
    steps.sort(key=lambda s: s["started_at"] or "")
    return {"run_id": run_id, "steps": steps}
