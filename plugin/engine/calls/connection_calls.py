"""Connections for code workflows: the same activities ``http`` and ``sql`` steps use, from workflow code.

    from plugin.engine.calls.connection_calls import connection_http, connection_sql

    answer = await connection_http("crm", "/customers/{id}", path_params={"id": customer_id})  # an HttpAnswer
    found = await connection_sql("ledger", "SELECT * FROM t WHERE id = :id", {"id": 42}, mode="one")

A value put into the path goes in ``path_params``: each becomes one percent-encoded segment, so an input
such as ``"../admin"`` fails the call instead of reaching another path with the connection's credentials
(the activity also refuses any path that leaves the base URL). Secrets stay in the worker: the history holds
the connection's name, the path or statement and the bound parameters, never a credential.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from plugin.engine.calls import http_types, sql_types
    from plugin.engine.calls.url_paths import PathEscape, fill_path

_UNSET = object()


async def connection_http(connection: str, path: str = "", method: str = "GET", *,
                          headers: dict[str, str] | None = None, query: dict[str, Any] | None = None,
                          body: Any = _UNSET, timeout_seconds: float = 30.0, max_attempts: int = 3,
                          accept_status: list[int] | None = None,
                          path_params: dict[str, Any] | None = None) -> http_types.HttpAnswer:
    """Call ``path`` (relative to the connection's base URL) through the ``http_request`` activity; ``{name}``
    in the path is filled from ``path_params``, each value one segment (a '/', '..' or empty value fails the
    run with an ``InvalidHttpRequest`` error naming it)."""
    if path_params:
        try:
            path = fill_path(path, path_params)
        except PathEscape as exc:
            raise ApplicationError(f"connection {connection!r}: {exc}", type=http_types.INVALID_HTTP_REQUEST,
                                   non_retryable=True) from None
    call = http_types.HttpCall(method=method.upper(), url=path, headers=dict(headers or {}),
                               query=dict(query or {}),
                               body=None if body is _UNSET else body, has_body=body is not _UNSET,
                               timeout_seconds=timeout_seconds, max_attempts=max_attempts,
                               retry_on_status=[408, 425, 429, 500, 502, 503, 504],
                               accept_status=list(accept_status or []), connection=connection)
    # Decoded as a dict: the sandbox of a workflow that imports only this module cannot resolve the
    # dataclass's type hints (its module is not in the sandbox's sys.modules).
    answer = await workflow.execute_activity(
        "http_request", call, result_type=dict,
        start_to_close_timeout=timedelta(seconds=timeout_seconds + 5),
        retry_policy=RetryPolicy(maximum_attempts=max_attempts,
                                 non_retryable_error_types=[*http_types.NON_RETRYABLE, *sql_types.CONNECTION_ERRORS]))
    return http_types.HttpAnswer(**answer)


async def connection_sql(connection: str, statement: str, params: dict[str, Any] | None = None, *,
                         mode: str = "rows", max_rows: int = 0, timeout_seconds: float = 60.0,
                         max_attempts: int | None = None) -> dict[str, Any]:
    """Run one statement with bound parameters through the ``sql_query`` activity (a write runs once unless
    ``max_attempts`` says more: make it idempotent first)."""
    if mode not in sql_types.MODES:
        raise ValueError(f"mode must be one of {sql_types.MODES}")
    attempts = max_attempts if max_attempts is not None else (1 if mode == "execute" else 3)
    call = sql_types.SqlCall(connection=connection, statement=statement, params=dict(params or {}), mode=mode,
                             max_rows=max_rows)
    return await workflow.execute_activity(
        "sql_query", call, result_type=dict, start_to_close_timeout=timedelta(seconds=timeout_seconds),
        retry_policy=RetryPolicy(maximum_attempts=attempts, non_retryable_error_types=sql_types.NON_RETRYABLE))
