"""Scale-out: two API processes (``serve``, each with its gunicorn workers) and two workers (``worker``) on one
Temporal and one Redis. What one process does, the other sees at once: idempotency, the per-request lock, key
revocation and the inbox."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from plugin.config import Settings
from plugin.embedded.processes import spawn
from tests.conftest import ADMIN_KEY, APP_KEY
from tests.requests_helpers import person
from tests.test_expense_flow import wait_for
from tests.test_served_api import serve_api


def headers(user: str | None = None, key: str = APP_KEY, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **({"X-Workflows-User": user} if user else {}), **extra}


@pytest.fixture(scope="module")
def apis(settings: Settings, worker, tmp_path_factory) -> Iterator[list[str]]:
    """The base URLs of two ``serve`` processes, with two ``worker`` processes beside the tests' own worker."""
    logs = tmp_path_factory.mktemp("scale-out")
    workers = [spawn(f"Worker {i}", [sys.executable, "-m", "plugin.cli", "worker"], logs / f"worker{i}.log",
                     settings.to_env()) for i in range(2)]
    served = [serve_api(settings, logs / f"api{i}.log") for i in range(2)]
    yield [base for _, base in served]
    survived = [proc.name for proc in [*workers, *(p for p, _ in served)] if proc.alive()]
    for proc, _ in served:
        proc.stop()
    for proc in workers:
        proc.stop()
    assert len(survived) == 4, f"only {survived} lasted the tests; see {logs}"


def test_one_idempotency_key_starts_one_run_whichever_process_answers(apis):
    who, key = person("idem"), uuid.uuid4().hex
    body = {"input": {"requests": [{"name": "Once", "users": [person()], "resolutions": ["Approve"]}]}}

    def trigger(i: int) -> dict:
        answer = requests.post(f"{apis[i % 2]}/api/v1/queries/approval_probe/runs", json=body, timeout=30,
                               headers=headers(who, **{"Idempotency-Key": key}))
        assert answer.status_code == 202, answer.text
        return answer.json()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(trigger, range(8)))
    assert len({a["run_id"] for a in answers}) == 1
    assert sum(not a["existing"] for a in answers) == 1, "exactly one call started the run"


def test_a_crowd_resolving_through_both_processes_makes_one_decision(apis):
    deciders = [person("crowd") for _ in range(10)]
    started = requests.post(f"{apis[0]}/api/v1/queries/approval_probe/runs", headers=headers(person("req")),
                            json={"input": {"requests": [{"name": "One of ten", "users": deciders,
                                                          "resolutions": ["Approve", "Reject"]}]}}, timeout=30)
    run_id = started.json()["run_id"]

    def pending() -> list[dict] | None:
        run = requests.get(f"{apis[1]}/api/v1/runs/{run_id}", headers=headers(key=ADMIN_KEY), timeout=30).json()
        return run["requests"] or None
    request_id = wait_for(pending)[0]["id"]

    def resolve(i: int) -> int:
        return requests.post(f"{apis[i % 2]}/api/v1/requests/{request_id}/resolve", headers=headers(deciders[i]),
                             json={"resolution": "Approve"}, timeout=60).status_code
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(resolve, range(10)))
    assert sorted(codes) == [200] + [409] * 9, codes
    for base in apis:  # both processes answer the one decision, from the same inbox
        mine = requests.get(f"{base}/api/v1/requests/{request_id}", headers=headers(deciders[0]), timeout=30).json()
        assert mine["status"] == "resolved" and len(mine["decisions"]) == 1
        assert requests.get(f"{base}/api/v1/requests", headers=headers(deciders[1]), timeout=30,
                            params={"status": "resolved"}).json()["requests"][0]["id"] == request_id


def test_a_key_revoked_through_one_process_is_refused_by_the_other_at_once(apis):
    created = requests.post(f"{apis[0]}/api/v1/keys", headers=headers(key=ADMIN_KEY), timeout=30,
                            json={"name": f"scale-{uuid.uuid4().hex[:6]}", "scope": "app"}).json()
    assert requests.get(f"{apis[1]}/api/v1/queries", headers=headers(key=created["secret"]), timeout=30).ok
    assert requests.delete(f"{apis[0]}/api/v1/keys/{created['id']}", headers=headers(key=ADMIN_KEY),
                           timeout=30).status_code == 204
    refused = requests.get(f"{apis[1]}/api/v1/queries", headers=headers(key=created["secret"]), timeout=30)
    assert refused.status_code == 401


def test_an_absence_and_a_bulk_decision_hold_across_processes(apis):
    ann, bob = person("away"), person("delegate")
    now = datetime.now(UTC)
    away = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat(),
            "delegate": bob}
    assert requests.put(f"{apis[0]}/api/v1/absences/me", headers=headers(ann), json=away, timeout=30).status_code == 200
    started = requests.post(f"{apis[0]}/api/v1/queries/approval_probe/runs", headers=headers(person("req")),
                            json={"input": {"requests": [{"name": "While away", "users": [ann],
                                                          "resolutions": ["Approve", "Reject"]}]}}, timeout=30)
    run_id = started.json()["run_id"]

    def offered() -> list[dict] | None:  # through the other process: the absence is in Redis, not in a process
        listed = requests.get(f"{apis[1]}/api/v1/requests", headers=headers(bob), timeout=30).json()["requests"]
        return [r for r in listed if r["run_id"] == run_id] or None
    [request] = wait_for(offered)
    assert request["offered_for"] == ann
    body = {"ids": [request["id"]], "resolution": "Approve", "comment": "ann is away"}
    first = requests.post(f"{apis[1]}/api/v1/requests/bulk-resolve", headers=headers(bob), json=body, timeout=60)
    again = requests.post(f"{apis[0]}/api/v1/requests/bulk-resolve", headers=headers(bob), json=body, timeout=60)
    assert [r["outcome"] for r in first.json()["results"]] == ["decided"], first.text
    assert [r["outcome"] for r in again.json()["results"]] == ["repeated"], again.text
    [decision] = again.json()["results"][0]["request"]["decisions"]
    assert decision["actor"] == bob and decision["acting_for"] == ann
