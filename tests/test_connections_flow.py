"""Connections end to end on the real Temporal dev server and Redis: node-based runs call a stub API on
127.0.0.1 through http connections (bearer, OAuth2) and a SQLite database through a sql connection; no
secret value ever reaches Temporal's history or Redis; the admin API lists, tests and sets secrets."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator

import pytest
import redis

from plugin.config import Settings
from plugin.secrets import SecretStore
from tests.checkout import SAMPLE_APPS
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app, serve_worker
from tests.connections_helpers import SECRETS, AuthStub, history_text, http_connections, write_workspace
from tests.fixtures_nodes import temporal, trigger, wait_run

ORDER_FLOW = {"input": {"type": "object", "required": ["id", "note"],
                        "properties": {"id": {"type": "integer"}, "note": {"type": "string"}}},
              "steps": [
                  {"id": "order", "kind": "http", "connection": "api_bearer", "path": "/orders/{{ input.id }}"},
                  {"id": "token_api", "kind": "http", "connection": "api_oauth", "path": "/stock",
                   "query": {"id": "{{ input.id }}"}},
                  {"id": "save", "kind": "sql", "connection": "db", "mode": "execute",
                   "statement": "INSERT INTO notes (order_id, note) VALUES (:id, :note)",
                   "params": {"id": "{{ input.id }}", "note": "{{ input.note }}"}},
                  {"id": "read", "kind": "sql", "connection": "db", "mode": "one",
                   "statement": "SELECT order_id, note FROM notes WHERE order_id = :id",
                   "params": {"id": "{{ input.id }}"}},
              ],
              "output": {"order": "{{ steps.order.output.body.path }}", "stock": "{{ steps.token_api.output.status }}",
                         "saved": "{{ steps.read.output.row }}"}}
CODE_WORKFLOW = '''
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.calls.connection_calls import connection_http, connection_sql
    from plugin.models import RunInput
    from plugin.engine.registry import register_workflow


@register_workflow
@workflow.defn(name="conn_code")
class ConnCode(PluginWorkflow):
    @workflow.run
    async def run(self, inp: RunInput) -> dict:
        self.begin(inp)
        answer = await connection_http("api_basic", "/code", query={"n": "1"})
        await connection_sql("db", "INSERT INTO notes (order_id, note) VALUES (:id, :note)",
                             {"id": 7, "note": inp.data["note"]}, mode="execute")
        found = await connection_sql("db", "SELECT note FROM notes WHERE order_id = :id", {"id": 7}, mode="one")
        return {"status": answer.status, "path": answer.body["path"], "note": found["row"]["note"]}
'''
DENIED_FLOW = {"steps": [{"id": "call", "kind": "http", "connection": "api_bearer", "path": "/deny-echo"}]}
PATIENT_FLOW = {"input": {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}},
                "steps": [{"id": "call", "kind": "http", "connection": "api_patient",
                           "path": "/teapot-{{ input.path }}"}],
                "output": {"attempts": "{{ steps.call.output.attempts }}"}}
MISSING_FLOW = {"steps": [{"id": "call", "kind": "http", "connection": "api_unset", "path": "/x"}]}


@pytest.fixture(scope="module")
def api() -> Iterator[AuthStub]:
    server = AuthStub()
    yield server
    server.close()


@pytest.fixture(scope="module")
def conn_settings(settings: Settings, api: AuthStub, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("connections")
    db = root / "notes.db"
    import sqlalchemy as sa

    with sa.create_engine(f"sqlite:///{db}").begin() as conn:
        conn.execute(sa.text("CREATE TABLE notes (order_id INTEGER, note TEXT)"))
    connections = {**http_connections(api.url), "db": {"kind": "sql", "url": f"sqlite:///{db}"}}
    folder = write_workspace(root / "ws", connections, {"conn_orders": ORDER_FLOW, "conn_missing": MISSING_FLOW,
                                                              "conn_denied": DENIED_FLOW,
                                                              "conn_patient": PATIENT_FLOW})
    (folder / "conn_code_workflows.py").write_text(CODE_WORKFLOW)
    spec = json.loads((folder / "workspace.json").read_text())
    spec["python_modules"] = ["conn_code_workflows"]
    spec["queries"]["conn_code"] = {"label": "code", "workflow": "conn_code", "input": {
        "type": "object", "required": ["note"], "properties": {"note": {"type": "string"}}}}
    (folder / "workspace.json").write_text(json.dumps(spec))
    sample = root / "purchase-request"  # the sample app, its rate connection pointed at the stub
    shutil.copytree(SAMPLE_APPS / "purchase-request", sample)
    spec = json.loads((sample / "workspace.json").read_text())
    spec["connections"]["exchange_rates"]["base_url"] = api.url + "/public"
    (sample / "workspace.json").write_text(json.dumps(spec))
    store = SecretStore(root / "data", environ={})
    for name, value in SECRETS.items():
        if name != "STUB_BEARER":  # set through the admin API by a test
            store.put(name, value)
    return settings.with_overrides(data_dir=root / "data", workspaces=(folder, sample),
                                   http_allow_hosts=(api.hostport,), task_queue=f"conn-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def conn_client(conn_settings: Settings):
    for _ in serve_worker(conn_settings):
        for app in serve_app(conn_settings):
            yield app.test_client()


def admin() -> dict[str, str]:
    return auth(key=ADMIN_KEY)


def test_secrets_are_write_only_through_the_admin_api(conn_client):
    put = conn_client.put("/api/v1/secrets/STUB_BEARER", headers=admin(), json={"value": SECRETS["STUB_BEARER"]})
    assert put.status_code == 200 and put.json["source"] == "redis" and "encrypted" in put.json["stored_in"]
    assert SECRETS["STUB_BEARER"] not in put.get_data(as_text=True)
    listed = conn_client.get("/api/v1/secrets", headers=admin())
    assert listed.status_code == 200 and SECRETS["STUB_BEARER"] not in listed.get_data(as_text=True)
    by_name = {s["name"]: s for s in listed.json["secrets"]}
    assert by_name["STUB_BEARER"] == {**put.json, "used_by": ["api_bearer"]}
    assert by_name["NEVER_SET_ANYWHERE"]["set"] is False
    assert conn_client.put("/api/v1/secrets/STUB_BEARER", headers=auth(key=APP_KEY),
                           json={"value": "x"}).status_code == 403
    bad = conn_client.put("/api/v1/secrets/lower", headers=admin(), json={"value": "x"})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "validation_failed"
    empty = conn_client.put("/api/v1/secrets/OTHER", headers=admin(), json={"value": ""})
    assert empty.status_code == 422 and "value" in empty.json["error"]["details"]["fields"]
    assert conn_client.delete("/api/v1/secrets/NOT_THERE", headers=admin()).status_code == 404


def test_run_uses_http_and_sql_connections_and_no_secret_reaches_history_or_redis(conn_client, api):
    assert conn_client.put("/api/v1/secrets/STUB_BEARER", headers=admin(),  # set through the API, as a person would
                           json={"value": SECRETS["STUB_BEARER"]}).status_code == 200
    note = f"o'brien'); DROP TABLE notes; -- {uuid.uuid4().hex[:6]}"
    run_id = trigger(conn_client, "conn_orders", {"id": 41, "note": note})
    run = wait_run(conn_client, run_id)
    assert run["status"] == "completed", run
    assert run["output"] == {"order": "/v1/orders/41", "stock": 200, "saved": {"order_id": 41, "note": note}}
    denied = wait_run(conn_client, trigger(conn_client, "conn_denied", {}))
    assert denied["status"] == "failed" and "answered 403" in json.dumps(denied["error"]), denied
    steps = conn_client.get(f"/api/v1/runs/{denied['id']}/steps", headers=auth(key=ADMIN_KEY)).get_data(as_text=True)
    text = "\n".join([json.dumps(run), json.dumps(denied), steps] + [
        history_text(temporal(conn_client.application, lambda c, r=r: c.get_workflow_handle(r).fetch_history()))
        for r in (run_id, denied["id"])])
    assert "api_bearer" in text and "INSERT INTO notes" in text  # the history is readable: the search means something
    assert "*** may not do this" in text  # the error's details quoted the credential: masked
    leaked = [v for v in [*SECRETS.values(), *api.tokens] if v in text]
    assert api.tokens and leaked == []
    redis_text = dump_redis(conn_client.application.extensions["workflows"].settings.redis_url)
    assert run_id in redis_text and denied["id"] in redis_text  # the runs' read models are there
    assert [v for v in [*SECRETS.values(), *api.tokens] if v in redis_text] == []


def test_a_step_without_retry_takes_its_connections_retry(conn_client, api):
    name = uuid.uuid4().hex[:6]
    path = f"/teapot-{name}"  # 418 three times: the step's default retry would give up
    run = wait_run(conn_client, trigger(conn_client, "conn_patient", {"path": name}))
    assert run["status"] == "completed" and run["output"] == {"attempts": 4}, run
    assert len(api.hits(path)) == 4


def test_missing_secret_fails_the_step_naming_the_secret(conn_client):
    run = wait_run(conn_client, trigger(conn_client, "conn_missing", {}))
    assert run["status"] == "failed"
    error = json.dumps(run["error"])
    assert "NEVER_SET_ANYWHERE" in error and "MissingSecret" in error, run["error"]
    steps = conn_client.get(f"/api/v1/runs/{run['id']}/steps", headers=auth(key=ADMIN_KEY)).json
    assert "NEVER_SET_ANYWHERE" in json.dumps(steps)


def test_connections_are_listed_and_tested_for_admins_only(conn_client, api):
    listed = conn_client.get("/api/v1/connections", headers=admin())
    assert listed.status_code == 200
    by_name = {c["name"]: c for c in listed.json["connections"]}
    assert by_name["api_oauth"]["auth"] == "oauth2_client_credentials" and by_name["db"]["target"] == "sqlite"
    assert by_name["api_unset"]["secrets"] == [{"name": "NEVER_SET_ANYWHERE", "set": False, "source": None}]
    assert all(v not in listed.get_data(as_text=True) for v in SECRETS.values())
    assert conn_client.get("/api/v1/connections", headers=auth(key=APP_KEY)).status_code == 403
    for name in ("db", "api_oauth", "api_basic"):
        tested = conn_client.post(f"/api/v1/connections/{name}/test", headers=admin())
        assert tested.status_code == 200 and tested.json["ok"] is True, tested.json
    assert api.hits("/")[-1]["method"] == "HEAD"
    unset = conn_client.post("/api/v1/connections/api_unset/test", headers=admin()).json
    assert unset["ok"] is False and "NEVER_SET_ANYWHERE" in unset["message"]
    missing = conn_client.post("/api/v1/connections/nope/test", headers=admin())
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_sample_purchase_request_fetches_its_rate_through_the_connection(conn_client, api):
    run = wait_run(conn_client, trigger(conn_client, "request_purchase", {
        "requester": "ann@example.com", "item": "Chair", "amount": 100, "currency": "EUR"}, user="ann@example.com"))
    assert run["output"] == {"item": "Chair", "amount_usd": 125.0, "approved": True, "decided_by": "policy",
                             "note": ""}, run
    [call] = api.hits("/public/latest/EUR")
    assert call["method"] == "GET" and call["headers"]["Accept"] == "application/json"


def test_code_workflows_use_connections_through_the_activity_helpers(conn_client, api):
    run = wait_run(conn_client, trigger(conn_client, "conn_code", {"note": "from code"}))
    assert run["output"] == {"status": 200, "path": "/code", "note": "from code"}, run
    history = temporal(conn_client.application, lambda c: c.get_workflow_handle(run["id"]).fetch_history())
    assert SECRETS["STUB_PASSWORD"] not in history_text(history)


def dump_redis(url: str) -> str:
    """Every key and value in Redis as text (strings, hashes, lists, sets, sorted sets, streams)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    parts: list[str] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        value: object = {
            "string": lambda k: client.get(k), "hash": client.hgetall, "list": lambda k: client.lrange(k, 0, -1),
            "set": client.smembers, "zset": lambda k: client.zrange(k, 0, -1), "stream": lambda k: client.xrange(k),
        }.get(kind, lambda k: "")(key)
        parts.append(f"{key} {value}")
    return "\n".join(parts)
