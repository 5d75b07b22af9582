"""A real consumer of /openapi.json: schemathesis calls every operation with generated requests.

Each operation gets a bounded number of examples with the admin key (header values as generated) and with the
app key plus a valid identity, on the real stack (the sample apps, a worker, Temporal and Redis). Any 5xx, or
an answer whose status, content type or body the document does not describe, is a failure; all are collected
and reported together.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

# Imported at collection, shallow: imported lazily from deep in a test, pytest's assertion rewriting of this
# plugin module trips a CPython 3.11 AST recursion check.
import schemathesis.specs.openapi.schemas  # noqa: F401
from flask import Flask
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from plugin.config import Settings
from tests.checkout import SAMPLE_APPS
from tests.conftest import ADMIN_KEY, APP_KEY, serve_app, serve_worker

EXAMPLES = 25  # per operation and caller
NEGATIVE_EXAMPLES = 15  # per operation, admin key: requests that break the document must be 4xx
MAX_WAIT = 1  # ?wait and cancel's wait are capped, so a run waiting for a person holds a call at most 1 s
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = {
    "admin": {"Authorization": f"Bearer {ADMIN_KEY}"},
    "app+identity": {"Authorization": f"Bearer {APP_KEY}", "X-Workflows-User": "fuzz@example.com",
                     "X-Workflows-Groups": "managers"},
}
FUZZ_REDIS_DB = 15
# operationId -> why it is left out. Keep this empty unless an operation truly cannot be fuzzed. Operations
# answering text/event-stream are left out too (see _streams): their tests read the stream with a deadline.
EXCLUDED: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings) -> Iterator[Flask]:
    """The sample apps on their own task queue and Redis database, with a worker, so runs really start, wait
    and complete, and whatever the generated calls change (keys, settings...) stays away from other tests."""
    own = settings.with_overrides(workspaces=tuple(sorted(p for p in SAMPLE_APPS.iterdir()
                                                          if (p / "workspace.json").is_file())),
                                  task_queue=f"fuzz-{uuid.uuid4().hex[:8]}",
                                  redis_url=f"{settings.redis_url.rsplit('/', 1)[0]}/{FUZZ_REDIS_DB}")
    store = redis.Redis.from_url(own.redis_url)
    store.flushdb()
    worker = serve_worker(own)
    next(worker)
    try:
        for app in serve_app(own):
            yield app
            _delete_schedules(app)  # a generated body that made a schedule must not fire for the rest of the session
    finally:
        next(worker, None)
        store.flushdb()
        store.close()


def _streams(operation: Any) -> bool:
    """An operation answering an event stream (SSE) never ends a response by itself."""
    return any("text/event-stream" in (answer.get("content") or {})
               for answer in operation.definition.raw.get("responses", {}).values() if isinstance(answer, dict))


def _delete_schedules(app: Flask) -> None:
    from plugin.gateway_ops.schedules import owned_ids

    svc = app.extensions["workflows"]
    for schedule_id in svc.gateway.call(lambda c: owned_ids(c, svc.settings.task_queue)):
        svc.gateway.call(lambda c, i=schedule_id: c.get_schedule_handle(i).delete())


def _cap_waits(case: Any) -> None:
    if isinstance(case.query, dict) and isinstance(case.query.get("wait"), int):
        case.query["wait"] = max(0, min(case.query["wait"], MAX_WAIT))
    if isinstance(case.body, dict) and isinstance(case.body.get("wait"), int) and case.body["wait"] > MAX_WAIT:
        case.body["wait"] = MAX_WAIT


def _exercise(operation: Any, caller: str, mode: GenerationMode, examples: int, failures: list[str]) -> int:
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        nonlocal calls
        _cap_waits(case)
        headers = dict(case.headers or {})
        headers.update(CALLERS[caller])
        case.headers = headers
        response = case.call()
        calls += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                failures.append(f"{operation.label} [{caller}, {mode.value}] {response.status_code}: "
                                f"{failure.title}: {str(failure.message)[:300]}\n  {case.as_curl_command()[:400]}")

    try:
        run()
    except Unsatisfiable:
        # Negative data needs something to break: an operation without parameters or a body has nothing.
        if mode is not GenerationMode.NEGATIVE or calls:
            raise
    return calls


# One test walks every operation (about 80, more with each endpoint added): on a loaded machine it outgrew the
# suite's 180 s per test, so it has its own bound.
@pytest.mark.timeout(900)
def test_every_operation_answers_as_documented(fuzz_app):
    schema = openapi.from_wsgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    ids = {op.definition.raw["operationId"] for op in operations}
    assert {"triggerWorkflow", "triggerSubmitExpense", "resolveRequest", "listRuns"} <= ids
    assert set(EXCLUDED) <= ids, "an exclusion names an operation that does not exist"
    failures: list[str] = []
    calls, started = 0, time.monotonic()
    streams = {op.definition.raw["operationId"] for op in operations if _streams(op)}
    for operation in operations:
        if operation.definition.raw["operationId"] in EXCLUDED.keys() | streams:
            continue
        for caller in CALLERS:
            calls += _exercise(operation, caller, GenerationMode.POSITIVE, EXAMPLES, failures)
        calls += _exercise(operation, "admin", GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, failures)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {len(operations) - len(EXCLUDED) - len(streams)} operations, {calls} calls, "
          f"{len(failures)} failures, {elapsed:.1f}s; left out: {sorted(EXCLUDED.keys() | streams) or 'none'}")
    assert calls >= len(operations) * 10
    assert not failures, "\n".join(failures[:40])
