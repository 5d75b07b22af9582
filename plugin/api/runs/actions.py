"""Run actions: cancel and retry one run, or many runs selected by the run-history filters."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask_smorest import Blueprint

from plugin.api.http.auth import actor_name, authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.runs import recent as recent_runs
from plugin.api.runs.paths import status_url
from plugin.api.runs.schemas import BulkArgs, BulkResultSchema, CancelBody, RunSchema, RunStartedSchema
from plugin.api.runs.views import run_filters
from plugin.api.services import services
from plugin.engine.interpreter.spec import NODE_WORKFLOW
from plugin.errors import Conflict, Forbidden, ValidationFailed
from plugin.gateway_ops import listing
from plugin.gateway_ops import runs as run_ops
from plugin.models import RunInput
from plugin.readmodel.runs import may_act_on_run
from plugin.store.idempotency import fingerprint
from plugin.workspace.definitions import pinned

bp = Blueprint("run_actions", __name__, url_prefix="/api/v1/runs", description="Cancel and retry runs")

CLOSED = ("completed", "failed", "cancelled", "terminated", "timed_out")


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))
    require("cancel_retry")


def _actionable(run_id: str) -> dict[str, Any]:
    who = current_identity(required=True)
    run = services().runs.visible(run_id, who)
    if not may_act_on_run(run, who):
        raise Forbidden("Only the person who started this run, or an admin, may cancel or retry it")
    return run


def retry_spec(old: dict[str, Any]) -> run_ops.StartSpec:
    """A new run of the same workflow with the same input, linked to the old one.

    Its id is derived from the old run, so retrying one run twice returns the first retry."""
    svc = services()
    if old["workflow"] not in svc.workspace.workflows:
        raise Conflict(f"Workflow {old['workflow']!r} of run {old['id']} is no longer offered by the workspace",
                       {"workflow": old["workflow"]})
    query = svc.workspace.queries.get(old.get("query") or "")
    digest = hashlib.sha256(f"{old['id']}\0{old.get('temporal_run_id', '')}".encode()).hexdigest()[:24]
    data = old.get("input") or {}
    memo = {"fingerprint": fingerprint(old.get("query") or "", data), "retry_of": old["id"],
            "retried_by": actor_name()}
    inp = RunInput(data=data, query=old.get("query") or "", started_by=old.get("started_by") or "",
                   app=old.get("app") or "",
                   request_defaults=dict(svc.runtime.current().request_defaults))  # a new run: today's defaults
    if old["workflow"] == NODE_WORKFLOW:
        # A node-based run retries on the query's current definition (pinned afresh, like a new trigger).
        if query is None or not query.definition:
            raise Conflict(f"Query {old.get('query')!r} of run {old['id']} no longer offers a definition to retry "
                           "with", {"query": old.get("query")})
        inp = pinned(query, memo, inp)
    elif query is not None:
        inp = pinned(query, memo, inp)  # today's SLA policies, like a new trigger
    return run_ops.StartSpec(
        workflow=old["workflow"], run_id=f"{old.get('query') or old['workflow']}-retry-{digest}",
        task_queue=svc.settings.task_queue,
        inp=inp, memo=memo, unique_id=True, retry_of=old["id"],
        execution_timeout=timedelta(seconds=query.timeout_seconds) if query and query.timeout_seconds else None,
    )


@bp.route("/<run_id>/cancel", methods=["POST"])
@bp.arguments(CancelBody)
@bp.response(200, RunSchema, description="The run ended (normally: cancelled)")
@bp.alt_response(202, schema=RunSchema, description="Cancellation asked; the run has not ended yet")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Only the starter or an admin may cancel")
@bp.alt_response(404, description="No such run, or not one the caller may see")
@bp.alt_response(409, description="The run has already ended, or ended otherwise before the cancel took effect")
@bp.alt_response(422, description="wait is not valid")
@bp.alt_response(503, description="Temporal unavailable")
def cancel(body: dict, run_id: str):
    """Cancel a run gracefully: its pending requests are withdrawn and it ends ``cancelled``."""
    run = _actionable(run_id)
    if run["status"] in CLOSED:
        raise Conflict(f"Run {run_id} has already ended ({run['status']})", {"status": run["status"]})
    svc = services()
    svc.gateway.call(lambda c: run_ops.cancel_run(c, run_id, body["wait"]),
                     timeout=body["wait"] + svc.settings.temporal_timeout)
    run = services().runs.refresh(run_id)  # what the caller is told is what later reads show, never older
    if run["status"] in CLOSED and run["status"] != "cancelled":  # e.g. a decision settled it first
        raise Conflict(f"Run {run_id} ended {run['status']} before the cancel took effect",
                       {"status": run["status"]})
    return run, 200 if run["status"] in CLOSED else 202


@bp.route("/<run_id>/retry", methods=["POST"])
@bp.response(202, RunStartedSchema, description="The new run (existing: true when this run was retried before)")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Only the starter or an admin may retry")
@bp.alt_response(404, description="No such run, or not one the caller may see")
@bp.alt_response(409, description="The run is still open, or its workflow is no longer offered")
@bp.alt_response(503, description="Temporal unavailable")
def retry(run_id: str):
    """Retry: a new run with the same input, linked both ways (``retry_of`` on it, ``retries`` on this one)."""
    old = _actionable(run_id)
    if old["status"] not in CLOSED:
        raise Conflict(f"Run {run_id} is still {old['status']}; cancel it before retrying",
                       {"status": old["status"]})
    spec = retry_spec(old)
    result = services().gateway.call(lambda c: run_ops.start_run(c, spec))
    recent_runs.remember(spec, result)
    services().runs.snapshots.add_retries(run_id, [spec.run_id])
    return {"run_id": spec.run_id, "query": old.get("query"), "status": "running", "existing": not result.started,
            "retry_of": run_id, "status_url": status_url(spec.run_id)}


def _select(body: dict, allowed: tuple[str, ...], default_label: str) -> tuple[list[dict[str, Any]], bool]:
    """The runs the filters select (at most ``limit``), and whether more match."""
    if body.get("status") not in allowed:
        raise ValidationFailed(f"Invalid input: status: must be one of {', '.join(a for a in allowed if a)} "
                               f"for {default_label}", {"fields": {"status": [f"Not allowed for {default_label}."]}})
    filters = run_filters(body, current_identity(required=True))
    svc = services()
    cursor = listing.first_cursor(filters)
    recorded = recent_runs.recorded(cursor)
    rows, more = svc.gateway.call(lambda c: listing.list_runs(c, svc.settings.task_queue, filters,
                                                                body["limit"], cursor, recorded))
    return rows, more is not None


@bp.route("/bulk-cancel", methods=["POST"])
@bp.arguments(BulkArgs)
@bp.response(200, BulkResultSchema)
@bp.alt_response(400, description="No body: send the filters, {} for every run you may act on")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="A user asked for runs started by someone else")
@bp.alt_response(422, description="A filter is not valid (the field is named)")
def bulk_cancel(body: dict):
    """Ask the open runs the filters select (at most ``limit``) to cancel; call again while ``more``."""
    rows, more = _select(body, (None, "running", "waiting"), "bulk cancel")
    open_ids = [r["id"] for r in rows if r["status"] in ("running", "waiting")]
    more = more and len(open_ids) == len(rows)

    results = services().gateway.call(lambda c: run_ops.cancel_many(c, open_ids), timeout=60)
    skipped = {i: str(r) for i, r in zip(open_ids, results, strict=True) if isinstance(r, Exception)}
    return {"matched": len(open_ids), "affected": [i for i in open_ids if i not in skipped], "skipped": skipped,
            "more": more}


@bp.route("/bulk-retry", methods=["POST"])
@bp.arguments(BulkArgs)
@bp.response(200, BulkResultSchema)
@bp.alt_response(400, description="No body: send the filters, {} for every run you may act on")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="A user asked for runs started by someone else")
@bp.alt_response(422, description="A filter is not valid, or status is missing or open")
def bulk_retry(body: dict):
    """Retry the ended runs the filters select (status required, e.g. failed); a run retried before is skipped."""
    rows, more = _select(body, CLOSED, "bulk retry")
    svc = services()
    ids = [r["id"] for r in rows]
    described = svc.gateway.call(lambda c: run_ops.describe_many(c, ids), timeout=60)
    skipped: dict[str, str] = {}
    specs: list[tuple[str, run_ops.StartSpec]] = []
    for run_id, d in zip(ids, described, strict=True):
        try:
            if isinstance(d, Exception):
                raise d
            specs.append((run_id, retry_spec(d.doc)))
        except Exception as exc:  # reported per run
            skipped[run_id] = getattr(exc, "message", str(exc))
    started = svc.gateway.call(lambda c: run_ops.start_many(c, [s for _, s in specs]), timeout=60)
    affected = []
    for (run_id, spec), result in zip(specs, started, strict=True):
        if isinstance(result, Exception):
            skipped[run_id] = str(result)
        elif not result.started:
            skipped[run_id] = f"already retried as {spec.run_id}"
        else:
            affected.append(spec.run_id)
            recent_runs.remember(spec, result)
            services().runs.snapshots.add_retries(run_id, [spec.run_id])
    return {"matched": len(ids), "affected": affected, "skipped": skipped, "more": more}
