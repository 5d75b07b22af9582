"""Prometheus metrics: /metrics needs an admin key; HTTP, trigger, decision, Temporal and pending-request
metrics move with the traffic; under gunicorn every process is counted, also on the keyless address; the
worker's SDK exporter serves its own metrics and the runs that ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from plugin.embedded.processes import free_port
from tests.conftest import ADMIN_KEY, auth, serve_app, serve_worker
from tests.requests_helpers import act, finished, pending_requests, person, start_probe
from tests.test_deploy_files import SDK_METRICS
from tests.test_expense_flow import wait_for


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a Prometheus text as (name, labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples(text).items() if n == name and wanted <= ls)


def scrape(client) -> str:
    response = client.get("/metrics", headers=auth(ADMIN_KEY))
    assert response.status_code == 200 and response.content_type.startswith("text/plain"), response.data[:200]
    return response.get_data(as_text=True)


def test_metrics_need_an_admin_key(client):
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", headers=auth(user="t@example.com"))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"


def test_traffic_triggers_decisions_and_temporal_calls_are_counted(client):
    before = scrape(client)
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Metered", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    middle = wait_for(lambda: (t := scrape(client)) and value(t, "workflows_pending_requests", query="approval_probe")
                      > value(before, "workflows_pending_requests", query="approval_probe") and t)
    assert act(client, request["id"], boss, resolution="Approve").status_code == 200
    finished(client, run_id)
    after = scrape(client)
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert delta("workflows_runs_started_total", query="approval_probe") == 1
    assert delta("workflows_http_requests_total", method="POST", route="/api/v1/queries/<name>/runs",
                 status="202") == 1
    assert delta("workflows_http_requests_total", method="POST", route="/api/v1/requests/<request_id>/resolve",
                 status="200") == 1
    assert delta("workflows_http_request_duration_seconds_count", route="/api/v1/runs/<run_id>") >= 2
    assert delta("workflows_decision_latency_seconds_count", query="approval_probe") == 1
    assert delta("workflows_temporal_call_duration_seconds_count", operation="start_run") == 1
    assert delta("workflows_temporal_call_duration_seconds_count", operation="update_request") == 1
    assert value(after, "workflows_pending_requests", query="approval_probe") == \
        value(middle, "workflows_pending_requests", query="approval_probe") - 1
    client.get("/api/v1/runs/nope-123", headers=auth(ADMIN_KEY))
    assert value(scrape(client), "workflows_temporal_call_errors_total", operation="describe_run",
                 kind="NotFound") >= 1


@pytest.mark.timeout(120)
def test_under_gunicorn_every_process_is_counted_and_the_keyless_address_serves_them(settings, tmp_path):
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, **settings.with_overrides(data_dir=tmp_path, port=port, api_workers=2, api_threads=2,
                                                   metrics_address=f"127.0.0.1:{metrics_port}").to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "plugin.cli", "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/healthz"), timeout=60)
        for _ in range(40):
            with requests.Session() as fresh:  # a new connection each time, so both processes answer
                response = fresh.get(f"{base}/healthz", headers={"Connection": "close"}, timeout=10)
            assert response.status_code == 200
        files = {p.name for p in (tmp_path / "metrics" / f"api-{port}").glob("counter_*.db")}
        keyless = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        counted = value(keyless, "workflows_http_requests_total", route="/healthz", status="200")
        assert counted >= 41, (counted, files)
        keyed = requests.get(f"{base}/metrics", headers=auth(ADMIN_KEY), timeout=10)
        assert keyed.status_code == 200
        assert value(keyed.text, "workflows_http_requests_total", route="/healthz", status="200") == counted
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.timeout(120)
def test_the_worker_exports_sdk_metrics_and_runs_ended(settings):
    address = f"127.0.0.1:{free_port()}"
    own = settings.with_overrides(task_queue=f"metrics-{uuid.uuid4().hex[:8]}", worker_metrics_address=address)
    worker = serve_worker(own)
    next(worker)
    app = serve_app(own)
    try:
        client = next(app).test_client()
        response = client.post("/api/v1/queries/runs_lab/runs?wait=20", headers=auth(user="m@example.com"),
                               json={"input": {"value": "x"}})
        assert response.status_code == 200, response.json
        text = wait_for(lambda: (t := requests.get(f"http://{address}/metrics", timeout=5).text)
                        and value(t, "workflows_runs_ended_total", query="runs_lab", status="completed") >= 1 and t)
        assert "temporal_workflow_completed" in text or "temporal_workflow_task_execution_latency" in text
        # One unit everywhere (deploy/monitoring compares with seconds): durations in seconds, by name and value.
        latency = "temporal_workflow_task_schedule_to_start_latency_seconds_bucket"
        counts: dict[float, float] = {}
        for (name, labels), count in samples(text).items():
            if name == latency:
                bound = float(dict(labels)["le"])
                counts[bound] = counts.get(bound, 0) + count
        assert {0.1, 1.0, 5.0} <= set(counts), sorted(counts)  # in milliseconds they would be 100, 1000, 5000
        assert counts[float("inf")] >= 1 and counts[1.0] == counts[float("inf")]  # a dev-server task waits < 1 s
        exported = {name for name, _ in samples(text)}
        # what deploy/monitoring uses (a failure counter appears with the first failure, `up` is Prometheus')
        assert SDK_METRICS - {"temporal_workflow_task_execution_failed_total", "up"} <= exported, sorted(exported)
    finally:
        next(app, None)
        next(worker, None)


def test_pending_requests_by_query_follow_each_version_and_fill_in_on_a_rebuild(settings):
    from plugin.store.connection import connect
    from plugin.store.inbox import PENDING_BY_QUERY, PREFIX, Inbox

    inbox, query = Inbox(connect(settings)), f"q{uuid.uuid4().hex[:8]}"
    doc = {"id": f"{query}-1:abcdefabcdef-1", "run_id": f"{query}-1", "name": "Check", "query": query,
           "status": "pending", "version": 1,
           "created_at": "2026-11-26T10:00:00+00:00", "users": ["a@example.com"], "groups": []}
    inbox.put(doc)
    inbox.put({**doc, "id": doc["id"][:-1] + "2"})
    assert inbox.pending_by_query()[query] == 2
    inbox.put({**doc, "status": "resolved", "version": 2})
    assert inbox.pending_by_query()[query] == 1
    inbox.redis.delete(f"{PREFIX}{PENDING_BY_QUERY}{query}")  # an inbox written before the sets existed
    assert query not in inbox.pending_by_query()
    inbox.put({**doc, "id": doc["id"][:-1] + "2"})  # the worker's rebuild writes the same version again
    assert inbox.pending_by_query()[query] == 1
