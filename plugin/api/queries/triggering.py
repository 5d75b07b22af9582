"""Starting a query's run and waiting for its answer: shared by Trigger workflow, webhooks and retries of them.

Views decide who is asking and which run id to use; this module validates the input, starts the run with
the query's pinned definition and time limit, and turns the run's outcome within a wait into an answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from marshmallow import ValidationError

from plugin.api.runs import recent as recent_runs
from plugin.api.services import services
from plugin.engine.interpreter.spec import NODE_WORKFLOW
from plugin.errors import RunFailed, ValidationFailed, validation_details
from plugin.gateway_ops import runs as run_ops
from plugin.gateway_ops.listing import quoted
from plugin.models import RunInput
from plugin.store.snapshots import OPEN_STATUSES
from plugin.workspace.definitions import pinned
from plugin.workspace.loader import Query, template_fields

MAX_RUN_ID = 400


def validated_input(query: Query, raw: Any, prefix: str = "input") -> dict[str, Any]:
    """The input loaded with the query's schema; 422 naming each bad field (``input.amount``).

    An optional field sent as ``""`` that would be refused (an email, a number) counts as not sent: host forms
    (Budibase's imported trigger, Appsmith's Form data) send every field they declare, empty when left blank.
    """
    try:
        return query.input_schema.load(raw)
    except ValidationError as exc:
        blank = _blank_optional(query, raw, exc.messages)
        if blank:
            return validated_input(query, {k: v for k, v in raw.items() if k not in blank}, prefix)
        message, details = validation_details({prefix: exc.messages} if prefix else exc.messages)
        raise ValidationFailed(message, details) from None


def _blank_optional(query: Query, raw: Any, messages: Any) -> set[str]:
    """The refused top-level fields that were sent as ``""`` and are not required."""
    if not isinstance(raw, dict) or not isinstance(messages, dict):
        return set()
    fields = query.input_schema.fields
    return {name for name in messages if raw.get(name) == "" and name in fields and not fields[name].required}


def _refuse_part(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: input.{name}: {message}", {"fields": {f"input.{name}": [message]}})


def business_key(query: Query, data: dict[str, Any]) -> str:
    """The run id a business-key query makes from this input; 422 when it cannot be a run id.

    A run id is one segment of ``/api/v1/runs/{run_id}``: a ``/`` (sent raw or as ``%2F``, which the server
    decodes before routing) would make a run that no read, cancel or decision can reach, and an id that is
    ``.`` or ``..`` is folded away by clients before the request is sent. Those are refused here, before a run
    starts; quotes, backslashes and control characters too (the id is also a visibility query literal).
    """
    assert query.run_id_template is not None
    names = template_fields(query.run_id_template)
    for name in names:
        part = str(data[name])
        try:
            quoted(part)
        except ValidationFailed:
            raise _refuse_part(name, "may not contain quotes, backslashes or control characters "
                                     "(it is part of the run id)") from None
        if "/" in part:
            raise _refuse_part(name, "may not contain '/' (it is part of the run id, which must fit in one "
                                     "URL path segment)")
    run_id = query.run_id_template.format(**{k: data[k] for k in names})
    if run_id in (".", ".."):
        raise _refuse_part(names[0], "may not make the run id '.' or '..' (URLs cannot carry those as an id)")
    if len(run_id) > MAX_RUN_ID:
        raise ValidationFailed(f"Invalid input: the run id made from the input is over {MAX_RUN_ID} characters",
                               {"fields": {"input": [f"The run id would be over {MAX_RUN_ID} characters."]}})
    return run_id


def run_input(query: Query, data: dict[str, Any], started_by: str, app: str, memo: dict[str, Any]) -> RunInput:
    """The workflow input of a run of this query, its definition pinned (adding the memo entries)."""
    defaults = services().runtime.current().request_defaults  # pinned: a later change never alters this run
    return pinned(query, memo, RunInput(data=data, query=query.name, started_by=started_by, app=app,
                                        request_defaults=dict(defaults)))


def start(query: Query, data: dict[str, Any], run_id: str, started_by: str, *, app: str = "",
          memo: dict[str, Any] | None = None, unique_id: bool = False) -> run_ops.StartResult:
    """Start a run of the query (an open run with this id is returned instead, see ``start_run``)."""
    svc = services()
    memo = dict(memo or {})
    spec = run_ops.StartSpec(
        workflow=query.workflow, run_id=run_id, task_queue=svc.settings.task_queue,
        inp=run_input(query, data, started_by, app, memo), memo=memo, unique_id=unique_id,
        execution_timeout=timedelta(seconds=query.timeout_seconds) if query.timeout_seconds else None,
    )
    result = svc.gateway.call(lambda c: run_ops.start_run(c, spec))
    if not result.started and not unique_id and _closing(run_id, result.temporal_run_id):
        # The run under this business key already reads as ended: its end snapshot is written in its closing
        # workflow task, before Temporal closes it. A trigger after that starts a new run, as its reader expects
        # (it was attached to the ending one: seen in the business-key test on a loaded machine).
        wait = svc.settings.temporal_timeout
        svc.gateway.call(lambda c: run_ops.wait_for_outcome(c, run_id, wait), timeout=2 * wait)
        result = svc.gateway.call(lambda c: run_ops.start_run(c, spec))
    recent_runs.remember(spec, result)
    if result.started and query.run_id_template and result.temporal_run_id:
        # a run that ended under this business key is not this one
        services().runs.snapshots.forget_other_runs(run_id, result.temporal_run_id)
    return result


def _closing(run_id: str, temporal_run_id: str | None) -> bool:
    """Whether the open run a start was attached to reads as ended in the run snapshots (its closing task)."""
    try:
        snap = services().runs.snapshots.get(run_id)
    except redis.RedisError:
        return False
    return (snap is not None and snap.doc.get("temporal_run_id") == temporal_run_id
            and snap.doc.get("status") not in OPEN_STATUSES)


def outcome_within(query: Query, run_id: str, wait: float, status_url: str,
                   respond_first: bool = False) -> run_ops.RunOutcome | None:
    """The run's answer within ``wait`` seconds: completed, or a respond step's answer; None when still
    running. A run that fails, is cancelled or times out in that time raises RunFailed (422 with its id).

    With ``respond_first``, a run that completed so fast that its respond step was not seen yet still answers
    with that step's body (the answer the definition chose), not with its output.
    """
    svc = services()
    node_based = query.workflow == NODE_WORKFLOW
    outcome = svc.gateway.call(lambda c: run_ops.wait_for_outcome(c, run_id, wait, watch_respond=node_based),
                               timeout=wait + svc.settings.temporal_timeout)
    if respond_first and node_based and outcome is not None and outcome.status == "completed":
        outcome = svc.gateway.call(lambda c: run_ops.responded(c, run_id)) or outcome
    if outcome is None or outcome.status in ("completed", "responded"):
        return outcome
    raise RunFailed(f"Run {run_id} {outcome.status.replace('_', ' ')}: {(outcome.error or {}).get('message', '')}",
                    {"run_id": run_id, "status": outcome.status, "error": outcome.error, "status_url": status_url})


def answer_status(outcome: run_ops.RunOutcome) -> int:
    """The HTTP status of an answer: a respond step's own when a success, else 200.

    Only success statuses pass, so that every 4xx/5xx of this API keeps the one error shape.
    """
    if outcome.status == "responded" and 200 <= outcome.http_status < 300:
        return outcome.http_status
    return 200


def has_respond_step(query: Query) -> bool:
    """Whether the query's node-based definition has a ``respond`` step anywhere (then callers may wait)."""
    if query.definition is None:
        return False

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return node.get("kind") == "respond" or any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False
    return walk(query.definition.content)
