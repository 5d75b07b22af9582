"""Workflow queries: what an app can bind to, and Trigger workflow."""

from __future__ import annotations

import uuid

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError

from plugin import temporal_ops
from plugin.api.auth import actor_name, authenticate
from plugin.api.errors import validation_details
from plugin.api.schemas import QueryListSchema, RunStartedSchema, TriggerBody
from plugin.api.services import services
from plugin.engine.models import RunInput
from plugin.errors import NotFound, ValidationFailed
from plugin.workspace.loader import Query

bp = Blueprint("queries", __name__, url_prefix="/api/v1/queries", description="Workflow queries")


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))


def _query(name: str) -> Query:
    query = services().workspace.queries.get(name)
    if query is None:
        raise NotFound(f"No query named {name!r}; GET /api/v1/queries lists them")
    return query


@bp.route("")
@bp.response(200, QueryListSchema)
def list_queries():
    """The queries on offer, with the JSON Schema of their input."""
    return {"queries": [
        {"name": q.name, "label": q.label, "description": q.description, "workflow": q.workflow,
         "mode": q.mode, "input_schema": q.input_json_schema}
        for q in services().workspace.queries.values()
    ]}


@bp.route("/<name>/runs", methods=["POST"])
@bp.arguments(TriggerBody)
@bp.response(202, RunStartedSchema)
def trigger(body: dict, name: str):
    """Trigger workflow: validate the input against the query's schema and start a run."""
    query = _query(name)
    try:
        data = query.input_schema.load(body["input"])
    except ValidationError as exc:
        message, details = validation_details({"input": exc.messages})
        raise ValidationFailed(message, details) from None
    svc = services()
    run_id = f"{query.name}-{uuid.uuid4().hex}"
    inp = RunInput(data=data, query=query.name, started_by=actor_name(), app="")
    svc.gateway.call(lambda c: temporal_ops.start_run(c, query.workflow, run_id, svc.settings.task_queue, inp))
    return {"run_id": run_id, "query": query.name, "status": "running",
            "status_url": url_for("runs.get_run", run_id=run_id)}
