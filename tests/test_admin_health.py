"""Health for admins (Temporal, Redis, workers, runs per query, the inbox, lost Redis data), the workspaces
with their check results, and keys changed on one API process refused on another."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from plugin.embedded.processes import free_port
from tests.checkout import SAMPLE_APPS
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app
from tests.identity_helpers import create_key
from tests.requests_helpers import group, pending_requests, person, start_probe
from tests.runs_helpers import error_of
from tests.test_expense_flow import wait_for
from tests.test_settings_api import isolated


@pytest.fixture(scope="module", autouse=True)
def apps(settings, tmp_path_factory) -> Iterator[dict[str, Flask]]:
    """The extra API processes of this module, made up front: a Flask app compiles its URL rules with ``ast``,
    which on CPython 3.11 must not race the worker's sandbox compiling dataclasses in another thread."""
    folder = tmp_path_factory.mktemp("ws") / "purchase-request"
    shutil.copytree(SAMPLE_APPS / "purchase-request", folder)
    made = {"other": settings,
            "down": settings.with_overrides(temporal_address=f"127.0.0.1:{free_port()}", temporal_timeout=2.0),
            "flushed": isolated(settings, 7), "workspace": settings.with_overrides(workspaces=(folder,))}
    gens = {name: serve_app(s) for name, s in made.items()}
    yield {name: next(gen) for name, gen in gens.items()}
    for gen in gens.values():
        next(gen, None)


def health(client) -> dict:
    response = client.get("/api/v1/admin/health", headers=auth(ADMIN_KEY))
    assert response.status_code == 200, response.json
    return response.json


def test_health_reports_temporal_redis_workers_and_runs_per_query(client, settings):
    requester = person("req")
    pending_requests(client, start_probe(client, requester, [{"name": "Health", "groups": [group()]}]))
    shown = health(client)
    assert shown["temporal"] == {"address": settings.temporal_address, "namespace": "default", "reachable": True,
                                 "version": shown["temporal"]["version"]} and shown["temporal"]["version"]
    assert shown["redis"]["reachable"] and shown["redis"]["memory"]["used_bytes"] > 0
    assert set(shown["redis"]["persistence"]) >= {"aof", "rdb_last_save_at"}
    assert shown["redis"]["data"]["since"]  # (lost: another test module may flush the session's Redis)
    workers = shown["workers"]
    assert workers["task_queue"] == settings.task_queue and workers["alive"] >= 1
    assert all(p["identity"] and p["last_seen_at"] for p in workers["pollers"]) and workers["backlog"] >= 0
    assert shown["read_model"]["inbox_built_at"]

    def probe_counts():
        rows = {row["query"]: row for row in health(client)["queries"]}
        return rows["approval_probe"] if rows["approval_probe"]["waiting"] >= 1 else None

    counts = wait_for(probe_counts)  # visibility is a moment behind
    assert counts["open"] >= counts["waiting"] >= 1 and counts["failed_24h"] >= 0


def test_health_says_what_is_wrong_when_temporal_cannot_be_reached(apps):
    shown = health(apps["down"].test_client())
    assert shown["temporal"]["reachable"] is False and "unreachable" in shown["temporal"]["error"]
    assert shown["temporal"]["error"].endswith("is unreachable (connection refused)"), shown["temporal"]
    assert "Traceback" not in json.dumps(shown) and "tonic" not in json.dumps(shown)
    assert shown["workers"]["error"] and shown["queries"] == []
    assert shown["redis"]["reachable"] is True


def test_health_says_which_part_up_is_restarting(apps):
    from plugin.store import health_marks

    client = apps["flushed"].test_client()
    store = apps["flushed"].extensions["workflows"].redis
    assert health(client)["restarting"] == {}
    health_marks.mark_down(store, "worker", "exited with code 1; starting it again in 2 s")
    try:
        assert health(client)["restarting"] == {"worker": "exited with code 1; starting it again in 2 s"}
    finally:
        health_marks.clear(store, "worker")


def test_rebuild_now_rebuilds_the_inbox_and_is_audited(client):
    answer = client.post("/api/v1/admin/health/inbox-rebuild", headers=auth(ADMIN_KEY, user=person("ops")), json={})
    assert answer.status_code == 200, answer.json
    assert answer.json["requests"] >= 0 and answer.json["inbox_built_at"]
    entry = client.get("/api/v1/settings/audit", headers=auth(ADMIN_KEY), query_string={"limit": 1}).json["entries"][0]
    assert entry["action"] == "inbox_rebuilt" and entry["changes"] == {"requests": answer.json["requests"]}


def test_a_second_rebuild_while_one_runs_is_409_and_bad_audit_limits_are_422(apps):
    from plugin.readmodel.inbox_rebuild import claim_rebuild, release_rebuild

    app = apps["flushed"]
    client, inbox = app.test_client(), app.extensions["workflows"].inbox
    assert claim_rebuild(inbox)  # another process is rebuilding
    try:
        busy = client.post("/api/v1/admin/health/inbox-rebuild", headers=auth(ADMIN_KEY), json={})
    finally:
        release_rebuild(inbox)
    assert busy.status_code == 409 and "already" in error_of(busy)["message"]
    for limit in ("0", "1001", "many"):
        bad = client.get("/api/v1/settings/audit", headers=auth(ADMIN_KEY), query_string={"limit": limit})
        assert bad.status_code == 422 and "limit" in error_of(bad)["details"]["fields"], bad.json
    other = client.get("/api/v1/settings/audit", headers=auth(ADMIN_KEY), query_string={"since": "x"})
    assert other.status_code == 422 and "since" in error_of(other)["details"]["fields"]


def test_health_and_workspaces_are_for_admins_only(client):
    for path in ("/api/v1/admin/health", "/api/v1/workspaces"):
        refused = client.get(path, headers=auth(APP_KEY))
        assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
        assert client.get(path).status_code == 401
    assert client.post("/api/v1/admin/health/inbox-rebuild", headers=auth(APP_KEY), json={}).status_code == 403


def test_workspaces_list_queries_and_definitions_with_the_check_of_each(apps):
    (folder,) = apps["workspace"].extensions["workflows"].settings.workspaces
    original = (folder / "workspace.json").read_text()
    try:
        client = apps["workspace"].test_client()
        fine = client.get("/api/v1/workspaces", headers=auth(ADMIN_KEY)).json
        (only,) = fine["workspaces"]
        assert only["folder"] == "purchase-request" and only["name"] and only["problems"] == []
        assert fine["check"] == {"ok": True, "problems": 0, "warnings": 0}
        assert {q["name"]: q["status"] for q in only["queries"]} and all(q["status"] == "ok" for q in only["queries"])
        assert only["definitions"] and all(d["status"] == "ok" and d["version"] for d in only["definitions"])

        manifest = json.loads((folder / "workspace.json").read_text())
        name = next(iter(manifest["queries"]))
        manifest["queries"][name]["mode"] = "sometimes"  # broken on disk after start-up: check says so
        (folder / "workspace.json").write_text(json.dumps(manifest))
        broken = client.get("/api/v1/workspaces", headers=auth(ADMIN_KEY)).json
    finally:
        (folder / "workspace.json").write_text(original)
    assert broken["check"]["ok"] is False and broken["check"]["problems"] >= 1
    query = next(q for q in broken["workspaces"][0]["queries"] if q["name"] == name)
    assert query["status"] == "problem" and any("mode" in p for p in query["problems"]), query
    assert str(folder.parent) not in json.dumps(broken), "no absolute paths in answers"


def test_with_redis_flushed_bootstrap_keys_work_and_health_says_what_was_lost(apps):
    own = apps["flushed"].extensions["workflows"].settings
    client = apps["flushed"].test_client()
    stored = create_key(client, name="lost with redis")
    client.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json={"notify_url": "https://h.example.com/n"})
    assert health(client)["redis"]["data"]["lost"] is None
    redis.Redis.from_url(own.redis_url).flushdb()

    assert client.get("/api/v1/queries", headers=auth(APP_KEY)).status_code == 200
    gone = client.get("/api/v1/queries", headers={"Authorization": f"Bearer {stored['secret']}"})
    assert gone.status_code == 401
    lost = health(client)["redis"]["data"]["lost"]
    assert lost["noticed_at"] and any("API keys" in item for item in lost["lost"])
    assert any("runtime settings" in item for item in lost["lost"]) and lost["rebuilt"]
    notify = client.get("/api/v1/settings", headers=auth(ADMIN_KEY)).json["settings"]["notify_url"]
    assert notify["source"] == "default" and notify["value"] is None


def test_a_key_rotated_on_one_api_process_is_refused_on_another_at_once(client, apps):
    other = apps["other"].test_client()
    created = create_key(client)
    old = {"Authorization": f"Bearer {created['secret']}"}
    assert other.get("/api/v1/queries", headers=old).status_code == 200
    rotated = client.post(f"/api/v1/keys/{created['id']}/rotate", headers=auth(ADMIN_KEY), json={})
    assert rotated.status_code == 200
    assert other.get("/api/v1/queries", headers=old).status_code == 401
    new = {"Authorization": f"Bearer {rotated.json['secret']}"}
    assert other.get("/api/v1/queries", headers=new).status_code == 200
