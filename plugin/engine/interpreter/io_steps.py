"""Executors of the steps that reach outside the run: http, approval, call."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.converter import value_to_type
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, TimeoutError

from plugin.engine.calls import http_types, sql_types
from plugin.engine.interpreter import spec
from plugin.engine.interpreter.runtime import Runner, Scope, StepFailed
from plugin.engine.request_options import STRICT_OPTION_TYPES_PATCH, option_problems
from plugin.models import AssignRequest, RunInput

Step = dict[str, Any]
DEFAULT_HTTP_TIMEOUT = 30.0
DEFAULT_HTTP_ATTEMPTS = 3
DEFAULT_SQL_TIMEOUT = 60.0
# Each value in a connection's path is one percent-encoded segment (never '/', '.', '..').
PATH_SEGMENTS_PATCH = "connection-path-segments"


def _failure_of(step: Step, exc: BaseException, what: str, retryable: bool = False) -> StepFailed:
    """A StepFailed from an activity's or a child's failure, keeping the cause's type and message.

    ``retryable``: whether the step's own ``retry`` may run it again (an http step's activity has already
    used its retries; a child run may be started again)."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else None
        tries = details.get("attempt") if isinstance(details, dict) else None
        return StepFailed(step["id"], cause.message, cause.type or "Error", details, retryable=retryable,
                          attempts=tries if isinstance(tries, int) else None)
    if isinstance(cause, TimeoutError):
        return StepFailed(step["id"], f"{what} timed out", "Timeout", retryable=retryable)
    return StepFailed(step["id"], f"{what} failed: {cause}", type(cause).__name__, retryable=retryable)


def _retry(r: Runner, step: Step) -> dict[str, Any]:
    """The step's ``retry``, else the default of the connection it uses (pinned with the run)."""
    if "retry" in step or "connection" not in step:
        return step.get("retry") or {}
    return (r.inp.connection_defaults.get(step["connection"]) or {}).get("retry") or {}


def _policy(r: Runner, step: Step, attempts: int, non_retryable: list[str]) -> RetryPolicy:
    """The activity's retry policy from the step's (or its connection's) ``retry``."""
    retry = _retry(r, step)
    initial = r.seconds(step, "retry.initial_interval", retry.get("initial_interval", 1))
    return RetryPolicy(
        initial_interval=timedelta(seconds=initial),
        backoff_coefficient=float(retry.get("backoff", 2.0)),
        maximum_interval=timedelta(seconds=r.seconds(step, "retry.max_interval",
                                                     retry.get("max_interval", max(initial * 100, 1)))),
        maximum_attempts=attempts,
        non_retryable_error_types=non_retryable,
    )


async def run_http(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Call an HTTP API in the ``http_request`` activity, retried by the step's policy. With a
    ``connection``, ``path`` is relative to its base URL and the activity adds its headers and credentials."""
    retry = _retry(r, step)
    headers = r.render(step, "headers", step.get("headers") or {}, scope)
    query = r.render(step, "query", step.get("query") or {}, scope)
    if not isinstance(headers, dict) or not isinstance(query, dict):
        raise StepFailed(step["id"], "headers and query must be objects", "InvalidValue", retryable=False)
    timeout = r.seconds(step, "timeout", step.get("timeout", DEFAULT_HTTP_TIMEOUT))
    attempts = int(retry.get("max_attempts", DEFAULT_HTTP_ATTEMPTS))
    connection = str(step.get("connection", ""))
    if not connection:
        url = r.render(step, "url", step["url"], scope)
    elif workflow.patched(PATH_SEGMENTS_PATCH):  # runs started before kept their rendering on replay
        url = r.render_path(step, "path", step.get("path", ""), scope)
    else:
        url = r.render(step, "path", step.get("path", ""), scope)
    call = http_types.HttpCall(
        method=str(step.get("method", "GET")).upper(),
        url=str(url),
        step_id=step["id"],
        headers={str(k): str(v) for k, v in headers.items()},
        query=query,
        body=r.render(step, "body", step.get("body"), scope),
        has_body="body" in step,
        timeout_seconds=timeout,
        retry_on_status=list(retry.get("retry_on_status", spec.DEFAULT_RETRY_ON_STATUS)),
        accept_status=list(step.get("accept_status", [])),
        max_attempts=attempts,
        connection=connection,
    )
    non_retryable = [*http_types.NON_RETRYABLE, *sql_types.CONNECTION_ERRORS]
    try:
        answer = await workflow.execute_activity(
            "http_request", call, result_type=http_types.HttpAnswer,
            retry_policy=_policy(r, step, attempts, non_retryable),
            start_to_close_timeout=timedelta(seconds=timeout + 5),
        )
    except ActivityError as exc:
        where = f"{call.method} {connection + ':' if connection else ''}{call.url}"
        raise _failure_of(step, exc, where) from None
    return dataclasses.asdict(answer)


async def run_sql(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Run one statement with bound parameters in the ``sql_query`` activity. A read is retried (3
    attempts by default); a write (mode ``execute``) runs once unless the step's ``retry`` says more."""
    params = r.render(step, "params", step.get("params") or {}, scope)
    if not isinstance(params, dict):
        raise StepFailed(step["id"], "params must be an object", "InvalidValue", retryable=False)
    mode = str(step.get("mode", "rows"))
    call = sql_types.SqlCall(connection=str(step["connection"]), statement=str(step["statement"]), params=params,
                             mode=mode, max_rows=int(step.get("max_rows", 0)), step_id=step["id"])
    # A write runs once unless the step itself says more; a read takes its connection's retry too.
    retry = (step.get("retry") or {}) if mode == "execute" else _retry(r, step)
    attempts = int(retry.get("max_attempts", 1 if mode == "execute" else 3))
    timeout = r.seconds(step, "timeout", step.get("timeout", DEFAULT_SQL_TIMEOUT))
    policy = _policy(r, step, attempts, sql_types.NON_RETRYABLE)
    try:
        return await workflow.execute_activity(
            "sql_query", call, result_type=dict, retry_policy=policy,
            start_to_close_timeout=timedelta(seconds=timeout),
        )
    except ActivityError as exc:
        raise _failure_of(step, exc, f"sql on {call.connection}") from None


async def run_approval(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Ask people to decide (every AssignRequest option, by its field name) and wait for the outcome."""
    fields = {name: r.render(step, name, value, scope) for name, value in step.items()
              if name in spec.APPROVAL_FIELDS}
    wrong = option_problems(fields)
    if wrong and workflow.patched(STRICT_OPTION_TYPES_PATCH):
        raise StepFailed(step["id"], "bad request options: " + "; ".join(f"{f} {m}" for f, m in wrong),
                         "InvalidRequestOptions", retryable=False)
    try:
        options = value_to_type(AssignRequest, fields)
    except (TypeError, ValueError, KeyError) as exc:
        raise StepFailed(step["id"], f"bad request options: {exc}", "InvalidRequestOptions",
                         retryable=False) from None
    try:
        outcome = await r.host.assign_request(options)
    except ApplicationError as exc:
        raise StepFailed(step["id"], exc.message, exc.type or "RequestFailed", retryable=False) from None
    return dataclasses.asdict(outcome)


async def run_call(r: Runner, step: Step, scope: Scope, resume: Any) -> Any:
    """Run another workflow as a child: a registered workflow or a definition pinned with this run."""
    data = r.render(step, "input", step.get("input") or {}, scope)
    if not isinstance(data, dict):
        raise StepFailed(step["id"], f"input: gives a {type(data).__name__}, not an object", "InvalidValue",
                         retryable=False)
    inp = r.inp
    child = RunInput(data=data, query=inp.query, started_by=inp.started_by, app=inp.app,
                     request_defaults=dict(inp.request_defaults), sla=dict(inp.sla))
    target = step.get("workflow", spec.NODE_WORKFLOW)
    if "definition" in step:
        content = inp.linked_definitions.get(step["definition"])
        if content is None:
            raise StepFailed(step["id"], f"definition {step['definition']!r} was not pinned with this run",
                             "UnknownDefinition", retryable=False)
        child.definition = content
        child.definition_version = spec.definition_version(content)
        child.linked_definitions = dict(inp.linked_definitions)
        child.connection_defaults = dict(inp.connection_defaults)
    child_id = f"{workflow.info().workflow_id}.{step['id']}.{r.host.next_child_number()}"
    options: dict[str, Any] = {
        "id": child_id, "memo": {"input": data, "definition_version": child.definition_version},
        "search_attributes": workflow.info().typed_search_attributes,
    }
    if not step.get("wait", True):
        await workflow.start_child_workflow(target, child, parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                                            **options)
        return {"run_id": child_id}
    try:
        return await workflow.execute_child_workflow(target, child, **options)
    except ChildWorkflowError as exc:
        raise _failure_of(step, exc, f"child run {child_id}", retryable=True) from None
