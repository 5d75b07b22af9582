"""A connection's credentials never leave its base URL: a value in a path is one percent-encoded segment, and
the activity refuses any path that climbs out of the base URL (here one with a path prefix, ``/v1``) or brings
its own query string. Runs on the real Temporal dev server and Redis against a stub API on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from plugin.config import Settings
from plugin.engine.calls import http_types as t
from plugin.engine.calls.http_activity import HttpActivities
from plugin.secrets import SecretStore
from plugin.workspace.connections import check_connections
from tests.conftest import serve_app, serve_worker
from tests.connections_helpers import BEARER, SECRETS, AuthStub, http_connections, write_workspace
from tests.fixtures_nodes import trigger, wait_run

CUSTOMER_FLOW = {"input": {"type": "object", "required": ["customer_id"],
                           "properties": {"customer_id": {"type": "string"}}},
                 "steps": [{"id": "customer", "kind": "http", "connection": "api_bearer",
                            "path": "/customers/{{ input.customer_id }}"}],
                 "output": {"path": "{{ steps.customer.output.body.path }}",
                            "query": "{{ steps.customer.output.body.query }}"}}
CODE_WORKFLOW = '''
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.calls.connection_calls import connection_http
    from plugin.models import RunInput
    from plugin.engine.registry import register_workflow


@register_workflow
@workflow.defn(name="customer_code")
class CustomerCode(PluginWorkflow):
    @workflow.run
    async def run(self, inp: RunInput) -> dict:
        self.begin(inp)
        answer = await connection_http("api_bearer", "/customers/{id}", path_params={"id": inp.data["id"]})
        return {"path": answer.body["path"]}
'''
# Each would reach another path of the API (or add a query string) with the connection's token.
ESCAPES = ["../../../admin", "..", "%2e%2e", "%2E%2E%2Fadmin", "a/b", "..\\admin", ""]


@pytest.fixture(scope="module")
def api() -> Iterator[AuthStub]:
    server = AuthStub()
    yield server
    server.close()


@pytest.fixture(scope="module")
def paths_client(settings: Settings, api: AuthStub, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("paths")
    folder = write_workspace(root / "ws", http_connections(api.url), {"customer_lookup": CUSTOMER_FLOW})
    (folder / "paths_code_workflows.py").write_text(CODE_WORKFLOW)
    spec = json.loads((folder / "workspace.json").read_text())
    spec["python_modules"] = ["paths_code_workflows"]
    spec["queries"]["customer_code"] = {"label": "code", "workflow": "customer_code", "input": {
        "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}
    (folder / "workspace.json").write_text(json.dumps(spec))
    store = SecretStore(root / "data", environ={})
    for name, value in SECRETS.items():
        store.put(name, value)
    own = settings.with_overrides(data_dir=root / "data", workspaces=(folder,), http_allow_hosts=(api.hostport,),
                                  task_queue=f"paths-{uuid.uuid4().hex[:8]}")
    for _ in serve_worker(own):
        for app in serve_app(own):
            yield app.test_client()


def outside_v1(api: AuthStub) -> list[str]:
    """Paths the stub was asked for outside the connection's base URL (``/v1``) with its token."""
    return [r["path"] for r in api.requests if not r["path"].startswith("/v1/customers/")
            and r["headers"].get("Authorization") == f"Bearer {BEARER}"]


def test_a_value_that_would_leave_the_path_fails_the_step_naming_step_and_field(paths_client, api):
    runs = {value: trigger(paths_client, "customer_lookup", {"customer_id": value}) for value in ESCAPES}
    for value, run_id in runs.items():
        run = wait_run(paths_client, run_id)
        assert run["status"] == "failed", (value, run)
        error = run["error"]
        assert error["step"] == "customer" and error["type"] == "InvalidPathValue", (value, error)
        assert "failed: path: " in error["message"], (value, error)
    assert outside_v1(api) == []
    assert [r for r in api.requests if r["path"].startswith("/v1/customers")] == []


def test_question_mark_and_hash_stay_inside_one_segment(paths_client, api):
    run = wait_run(paths_client, trigger(paths_client, "customer_lookup", {"customer_id": "x?admin=1#"}))
    assert run["status"] == "completed", run
    assert run["output"] == {"path": "/v1/customers/x%3Fadmin%3D1%23", "query": {}}
    plain = wait_run(paths_client, trigger(paths_client, "customer_lookup", {"customer_id": "ann smith"}))
    assert plain["output"]["path"] == "/v1/customers/ann%20smith"
    assert outside_v1(api) == []


def test_code_workflows_put_values_into_the_path_as_single_segments(paths_client, api):
    escaped = wait_run(paths_client, trigger(paths_client, "customer_code", {"id": "../../admin"}))
    assert escaped["status"] == "failed" and "InvalidHttpRequest" in json.dumps(escaped["error"]), escaped
    assert "'../../admin' holds a '/'" in escaped["error"]["message"]
    fine = wait_run(paths_client, trigger(paths_client, "customer_code", {"id": "a?b"}))
    assert fine["output"] == {"path": "/v1/customers/a%3Fb"}, fine
    assert outside_v1(api) == []


def activity(api: AuthStub, tmp_path: Path) -> HttpActivities:
    connections, problems = check_connections(http_connections(api.url), "test")
    assert problems == []
    store = SecretStore(tmp_path, environ={})
    for name, value in SECRETS.items():
        store.put(name, value)
    return HttpActivities([api.hostport], connections=connections, secrets=store)


@pytest.mark.parametrize("path", ["/customers/../../admin", "../admin", "/customers/%2e%2e/%2E%2E/admin",
                                  "/customers/%252e%252e/%252e%252e/admin", "/customers/x?admin=1",
                                  "/customers/x#frag", "/customers/..%5Cadmin",
                                  "/customers/%2F..%2F..%2Fadmin", "//evil.example.com/x",
                                  "https://evil.example.com/x"])
def test_the_activity_refuses_a_path_that_leaves_the_base_url(api, tmp_path, path):
    """What a code workflow's literal path gets (and any run that started before segments were encoded)."""
    before = len(api.requests)
    with pytest.raises(ApplicationError) as caught:
        activity(api, tmp_path).http_request(t.HttpCall(method="GET", url=path, connection="api_bearer"))
    assert caught.value.type == "InvalidHttpRequest" and caught.value.non_retryable
    assert caught.value.message.startswith("path: ") and BEARER not in caught.value.message
    assert len(api.requests) == before


def test_the_activity_keeps_a_path_under_the_base_urls_prefix(api, tmp_path):
    answer = activity(api, tmp_path).http_request(t.HttpCall(method="GET", url="/customers/a%2Fb/orders",
                                                             connection="api_bearer", query={"q": "x?y#z"}))
    assert answer.status == 200
    assert answer.body == {"path": "/v1/customers/a%2Fb/orders", "query": {"q": ["x?y#z"]}, "default": "yes"}
