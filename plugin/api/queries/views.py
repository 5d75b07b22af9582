"""Workflow queries: what an app can bind to, and Trigger workflow (async, sync, idempotent)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import RAISE
from temporalio.service import RPCError, RPCStatusCode

from plugin.api.http.auth import actor_name, authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.queries import triggering
from plugin.api.queries.trigger_args import plain_arguments
from plugin.api.runs.paths import status_url
from plugin.api.runs.schemas import QueryListSchema, RunStartedSchema, TriggerArgs, TriggerBody
from plugin.api.services import per_app, services
from plugin.errors import BadRequest, NotFound, ValidationFailed
from plugin.gateway_ops import runs as run_ops
from plugin.store.idempotency import IdempotencyRecord, IdempotencyRecords, fingerprint, keyed_digest
from plugin.workspace.loader import Query

bp = Blueprint("queries", __name__, url_prefix="/api/v1/queries", description="Workflow queries")

IDEMPOTENCY_HEADER = "Idempotency-Key"
APP_HEADER = "X-Workflows-App"
ERRORS = (400, 401, 403, 404, 413, 422, 503)
TRIGGER_ARGS = TriggerArgs()


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))
    require("trigger" if request.method == "POST" else "read")


def _query(name: str) -> Query:
    query = services().workspace.queries.get(name)
    if query is None:
        raise NotFound(f"No query named {name!r}; GET /api/v1/queries lists them")
    return query


@bp.route("")
@bp.response(200, QueryListSchema)
@bp.alt_response(401, description="No valid API key")
def list_queries():
    """The queries on offer, with the JSON Schema of their input."""
    return {"queries": [
        {"name": q.name, "label": q.label, "description": q.description, "workflow": q.workflow,
         "mode": q.mode, "wait_seconds": q.wait_seconds, "run_id": q.run_id_template or "random",
         "timeout_seconds": q.timeout_seconds, "input_schema": q.input_json_schema,
         "output_schema": q.output_json_schema}
        for q in services().workspace.queries.values()
    ]}


def idempotency_records() -> IdempotencyRecords:
    """The app's idempotency record store (made once per app)."""
    return per_app("idempotency", IdempotencyRecords)


def idempotency_key() -> str | None:
    """The request's Idempotency-Key (None when absent or empty); 400 when it is not a usable key."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:  # hosts that send every declared header send it empty when nothing is bound: no key
        return None
    if len(key) >= 2 and key[0] == key[-1] == '"':  # the draft sends it as a structured-field string
        key = key[1:-1]
    if not key or len(key) > 255 or not key.isprintable() or not key.isascii():
        raise BadRequest(f"{IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters",
                         {"header": IDEMPOTENCY_HEADER})
    return key


def _memo_of(run_id: str) -> dict[str, Any]:
    """The memo of the latest run with this id ({} when there is none)."""
    async def read(client: Any) -> dict[str, Any]:
        try:
            desc = await client.get_workflow_handle(run_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return {}
            raise
        return await desc.memo()
    return services().gateway.call(read)


def _app_name() -> str:
    return app_name_of(request.headers.get(APP_HEADER, ""))


def app_name_of(header: str) -> str:
    """The app named by the X-Workflows-App header's value ("" for none); 400 when it is not a plain name."""
    app = header.strip()
    if len(app) > 100 or not app.isprintable() or any(c in app for c in "'\"\\"):
        raise BadRequest(f"{APP_HEADER} must be a plain name of at most 100 characters", {"header": APP_HEADER})
    return app


def _key_reused() -> ValidationFailed:
    return ValidationFailed(f"This {IDEMPOTENCY_HEADER} was already used with a different body; use a new key",
                            {"fields": {IDEMPOTENCY_HEADER: ["Already used with a different body."]},
                             "header": IDEMPOTENCY_HEADER})


def _start_keyed_business(query: Query, data: dict[str, Any], run_id: str, app: str,
                          memo: dict[str, Any]) -> run_ops.StartResult:
    """A business-key run with an Idempotency-Key: the run this key started under that id is the answer, even
    after it ended; else an open run under the id is returned, else a new run starts.

    The start comes first (refusing an ended run's id), so a new business key costs one call to Temporal; the
    run's memo is read only when a run with the id already exists."""
    keyed, digest = memo["idempotency"], memo["fingerprint"]
    result = triggering.start(query, data, run_id, actor_name(), app=app, memo=memo, unique_id=True)
    if result.started:
        return result
    known = _memo_of(run_id)
    if known.get("idempotency") == keyed:  # this key's own run, open or ended
        if known.get("fingerprint") != digest:
            raise _key_reused()
        return result
    if result.ended:  # the id's last run ended and was not this key's: this key starts the next one
        result = triggering.start(query, data, run_id, actor_name(), app=app, memo=memo)
        if result.started:
            return result
        known = _memo_of(run_id)  # another request started it meanwhile
    if known.get("fingerprint") not in (None, digest):
        raise _key_reused()
    return result


def new_run_id(query: Query) -> str:
    """The id of a new run of a query without a business key and without an Idempotency-Key."""
    return f"{query.name}-{uuid.uuid4().hex}"


def started_answer(query: Query, run_id: str, result: run_ops.StartResult, root: str | None = None) -> dict[str, Any]:
    """Trigger workflow's answer for a run it started (or found), before any wait (``root``: as ``status_url``)."""
    return {"run_id": run_id, "query": query.name, "status": "running", "existing": not result.started,
            "status_url": status_url(run_id, root)}


@bp.route("/<name>/runs", methods=["POST"])
@plain_arguments(TRIGGER_ARGS)  # plain arguments and body (the usual trigger) without webargs; the same values
@bp.arguments(TriggerArgs, location="query", unknown=RAISE)
@bp.arguments(TriggerBody)
@bp.response(202, RunStartedSchema, description="Started (or an existing run); still running after the wait")
@bp.alt_response(200, schema=RunStartedSchema, description="The run completed within the wait: its output")
@bp.alt_response(400, description="Body not JSON, or a bad Idempotency-Key or X-Workflows-App header")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(404, description="No such query")
@bp.alt_response(413, description="Body over the configured limit")
@bp.alt_response(422, description="Invalid input (each bad field named), an Idempotency-Key reused with another "
                                  "body, or the run failed within the wait (code run_failed, with the run id)")
@bp.alt_response(503, description="Temporal or Redis unavailable")
def trigger(args: dict, body: dict, name: str):
    """Trigger workflow: validate the input against the query's schema and start a run.

    With ``Idempotency-Key``, the same key and body from the same caller always answer the same run. Each query
    also has its own typed operation (``trigger<QueryName>``, tag "Typed queries") with its input schema.
    """
    current_identity(required=True)  # an app key's run needs a named starter (and then can be seen by them)
    query = _query(name)
    data = triggering.validated_input(query, body["input"])
    key = idempotency_key()
    app = _app_name()
    digest = fingerprint(query.name, data)
    caller = f"{g.key.name}|{g.identity.user}"
    business_id = triggering.business_key(query, data) if query.run_id_template else None
    keyed = keyed_digest(caller, key) if key is not None else None
    if keyed is not None:
        run_id = business_id or f"{query.name}-idem-{keyed[:32]}"
        held = idempotency_records().claim(keyed, IdempotencyRecord(digest, run_id))
        if held.fingerprint != digest:
            raise _key_reused()
        run_id = held.run_id
    else:
        run_id = business_id or new_run_id(query)
    memo = {"fingerprint": digest, **({"idempotency": keyed} if keyed else {})}
    if keyed is not None and business_id is not None:
        result = _start_keyed_business(query, data, run_id, app, memo)
    else:
        result = triggering.start(query, data, run_id, actor_name(), app=app, memo=memo, unique_id=keyed is not None)
        if not result.started and keyed is not None and _memo_of(run_id).get("fingerprint") not in (None, digest):
            raise _key_reused()
    answer = started_answer(query, run_id, result)
    wait = args.get("wait", query.wait_seconds)
    if wait:
        outcome = triggering.outcome_within(query, run_id, wait, answer["status_url"])
        if outcome is not None and outcome.status == "completed":
            return {**answer, "status": "completed", "output": outcome.output}, 200
        if outcome is not None:  # a respond step's answer while the run goes on
            now = services().runs.read(run_id)["status"]
            return ({**answer, "status": now, "output": outcome.output, "responded": True},
                    triggering.answer_status(outcome))
    if wait or not result.started:
        answer["status"] = services().runs.read(run_id)["status"]  # e.g. ``waiting`` when a person must act
    return answer, 202
