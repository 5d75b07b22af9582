"""Readiness tells the truth about Temporal, Redis and the worker; bad settings and workspaces fail clearly."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import yaml

from plugin.api import create_app
from plugin.config import Settings
from plugin.embedded.processes import StartupError, find_binary, free_port
from plugin.errors import ConfigError
from plugin.store import health_marks
from plugin.workspace.loader import load_workspaces
from tests.checkout import REPO_ROOT
from tests.conftest import ADMIN_KEY, auth


def test_ready_when_all_three_are(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "temporal": "ok", "redis": "ok", "worker": "ok"}
    assert client.get("/healthz").json == {"status": "ok"}


def test_not_ready_without_a_worker_on_the_task_queue(settings):
    app = create_app(settings.with_overrides(task_queue=f"nobody-{uuid.uuid4().hex[:6]}"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "temporal": "ok", "redis": "ok", "worker": "error"}
    detailed = app.test_client().get("/readyz", headers=auth(ADMIN_KEY))
    assert "no worker is polling" in detailed.json["worker"], "details need the admin key"
    app.extensions["workflows"].gateway.close()


def test_not_ready_without_redis(settings):
    app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["redis"] == "error" and response.json["temporal"] == "ok", "no address or socket path"
    listing = app.test_client().get("/api/v1/requests", headers=auth(user="a@example.com"))
    assert listing.status_code == 503 and listing.json["error"]["details"]["service"] == "redis"
    app.extensions["workflows"].gateway.close()


def test_unreachable_temporal_is_503_in_the_error_shape_not_a_hang(settings):
    app = create_app(settings.with_overrides(temporal_address=f"127.0.0.1:{free_port()}", temporal_timeout=2.0))
    client = app.test_client()
    started = time.monotonic()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["temporal"].startswith("error")
    trigger = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user="a@example.com"),
                          json={"input": {"employee": "a@example.com", "amount": 5, "description": "x"}})
    assert trigger.status_code == 503
    assert trigger.json["error"]["code"] == "service_unavailable"
    assert "Temporal" in trigger.json["error"]["message"]
    assert time.monotonic() - started < 20
    app.extensions["workflows"].gateway.close()


@pytest.mark.parametrize(("env", "message"), [
    ({"WORKFLOWS_PORT": "http"}, "WORKFLOWS_PORT='http' is not a whole number"),
    ({"WORKFLOWS_PORT": "70000"}, "out of range"),
    ({"WORKFLOWS_REDIS_URL": "localhost:6379"}, "must start with redis://"),
    ({"WORKFLOWS_APP_KEY": "short"}, "too short"),
    ({"WORKFLOWS_TEMPORAL_TLS_CERT": "/x.pem"}, "must be set together"),
    ({"WORKFLOWS_WORKSPACE": "/nonexistent"}, "has no workspace.json"),
    ({"WORKFLOWS_TEMPORAL_TIMEOUT": "0"}, "greater than zero"),
    ({"WORKFLOWS_NOTIFY_URL": "ftp://x"}, "http:// or https://"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_settings_round_trip_through_the_environment():
    settings = Settings.from_env({"WORKFLOWS_PORT": "9000", "WORKFLOWS_TEMPORAL_ADDRESS": "t:7233",
                                  "WORKFLOWS_REDIS_URL": "redis://r:6379/1", "WORKFLOWS_APP_KEY": "k" * 20})
    again = Settings.from_env(settings.to_env())
    assert (again.port, again.effective_temporal_address, again.redis_url, again.app_key) == (
        9000, "t:7233", "redis://r:6379/1", "k" * 20)


def write_workspace(folder: Path, queries: dict, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workspace.json").write_text(json.dumps({"queries": queries, **extra}))
    return folder


@pytest.mark.parametrize(("query", "message"), [
    ({"workflow": "no_such_workflow"}, "unknown workflow 'no_such_workflow'"),
    ({"workflow": "expense_approval", "mode": "eventually"}, "mode: must be one of"),
    ({"workflow": "expense_approval", "input": {"type": "array"}}, "must be a JSON Schema of type 'object'"),
    ({"workflow": "expense_approval", "input": {"type": "object", "properties": {"a": {"type": "date"}}}},
     "'type' must be one of"),
    ({"workflow": "expense_approval", "input": {"type": "object", "required": ["b"], "properties": {}}},
     "'required' must list names from 'properties'"),
])
def test_workspace_mistakes_name_the_file_and_the_query(tmp_path, settings, query, message):
    load_workspaces(settings.workspaces)  # registers the sample workflows
    folder = write_workspace(tmp_path / "ws", {"broken_query": query})
    with pytest.raises(ConfigError) as caught:
        load_workspaces([folder])
    assert str(folder / "workspace.json") in caught.value.message
    assert "broken_query" in caught.value.message and message in caught.value.message


def test_workspace_that_is_not_json(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "workspace.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_workspaces([folder])


def test_missing_python_module_is_named(tmp_path):
    folder = write_workspace(tmp_path / "ws", {}, python_modules=["does_not_exist_anywhere"])
    with pytest.raises(ConfigError, match="does_not_exist_anywhere"):
        load_workspaces([folder])


def test_missing_binary_says_which_package_to_install():
    with pytest.raises(StartupError, match="install the PyPI package 'some-package'"):
        find_binary("no-such-binary-here", "some-package")


def test_ready_reports_a_part_up_marks_down_while_it_restarts(client, app):
    redis_client = app.extensions["workflows"].redis
    health_marks.mark_down(redis_client, "worker", "restarting after exit code -9")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json["worker"] == "error"
        detailed = client.get("/readyz", headers=auth(ADMIN_KEY))
        assert detailed.json["worker"] == "error: restarting after exit code -9"
    finally:
        health_marks.clear(redis_client, "worker")
    assert client.get("/readyz").status_code == 200


def test_readiness_of_the_api_alone_ignores_missing_workers_but_not_its_own_redis(settings):
    """``/readyz?scope=api`` (the Kubernetes readiness probe): a replica stays in the Service while no worker
    polls, so callers get the documented 503 naming the worker instead of connection errors."""
    app = create_app(settings.with_overrides(task_queue=f"nobody-{uuid.uuid4().hex[:6]}"))
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    alone = client.get("/readyz?scope=api")
    assert alone.status_code == 200 and alone.json == {"status": "ok", "redis": "ok"}
    assert client.get("/readyz?scope=everything").status_code == 422
    app.extensions["workflows"].gateway.close()
    cut_off = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    assert cut_off.test_client().get("/readyz?scope=api").json == {"status": "unavailable", "redis": "error"}
    cut_off.extensions["workflows"].gateway.close()
    probe = next(d for d in yaml.safe_load_all((REPO_ROOT / "deploy/kubernetes/api.yaml").read_text())
                 if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/readyz?scope=api"
