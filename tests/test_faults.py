"""Faults against a running `up` (127.0.0.1 only): worker SIGKILL with runs waiting and during approvals,
API master SIGKILL, Temporal killed, Redis killed and flushed, `up` itself killed. Nothing is lost or doubled
(every run completes with exactly one decision), `up` restarts what died and says so, /readyz shows what is
down meanwhile, and no API call hangs past its timeout. Counts are scaled to run in about two minutes here."""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from plugin.embedded.processes import port_in_use
from plugin.store.health_marks import MARK_PREFIX
from tests.fault_helpers import Client, back, kill, waiting_runs
from tests.test_expense_flow import wait_for
from tests.test_up import Up, children_of

RUNS = 8  # per fault
BOSS = "boss-faults@example.com"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Up]:
    up = Up(tmp_path_factory.mktemp("faults") / "data").start()
    try:
        up.wait_ready(120)
        yield up
    finally:
        if up.proc.poll() is None:
            up.stop()
        for line in children_of(up.data_dir):  # the last test kills `up`; its children must be gone
            os.kill(int(line.split()[0]), signal.SIGKILL)


@pytest.fixture(scope="module")
def api(stack: Up) -> Client:
    return Client(stack)


def test_the_data_dir_is_private(stack: Up):
    assert stat.S_IMODE(stack.data_dir.stat().st_mode) == 0o700
    for path in stack.data_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"


def test_worker_sigkill_with_runs_waiting(stack: Up, api: Client):
    runs = waiting_runs(api, RUNS)
    marks = redis.Redis.from_url(f"unix://{stack.data_dir / 'redis.sock'}")
    old = kill(stack, "worker")
    why = wait_for(lambda: marks.get(f"{MARK_PREFIX}worker"), 10, 0.02)  # what /readyz reports meanwhile
    assert b"restarting after exit code -9" in why
    back(stack, "worker", old)
    wait_for(lambda: "Worker is back" in stack.output(), 60)
    assert "Worker exited with code -9; restarting it" in stack.output()
    for _, _, request in runs:
        assert api.decide_until_settled(request["id"], BOSS)[-1] == 200
    for run_id, who, _ in runs:
        api.completed_with_one_decision(run_id, who)
    wait_for(lambda: requests.get(stack.url("/readyz"), timeout=5).status_code == 200, 30)


def test_worker_sigkill_during_approvals(stack: Up, api: Client):
    runs = waiting_runs(api, RUNS)
    answers: dict[str, list[int]] = {}

    def decide(request_id: str) -> None:
        answers[request_id] = api.decide_until_settled(request_id, BOSS)

    threads = [threading.Thread(target=decide, args=(request["id"],)) for _, _, request in runs]
    for i, thread in enumerate(threads):
        thread.start()
        if i == RUNS // 2:
            old = kill(stack, "worker")
    for thread in threads:
        thread.join(120)
    back(stack, "worker", old)
    for run_id, who, _ in runs:
        api.completed_with_one_decision(run_id, who)
    assert all(statuses[-1] in (200, 409) for statuses in answers.values()), answers


def test_api_master_sigkill(stack: Up, api: Client):
    [(run_id, who, request)] = waiting_runs(api, 1)
    old = kill(stack, "api")
    new = back(stack, "api", old)
    assert new != old
    wait_for(lambda: "API is back" in stack.output(), 60)
    assert api.decide_until_settled(request["id"], BOSS)[-1] == 200
    api.completed_with_one_decision(run_id, who)


def test_temporal_killed_and_restarted_on_the_same_data(stack: Up, api: Client):
    runs = waiting_runs(api, RUNS // 2)
    old = kill(stack, "temporal")
    # meanwhile: every call answers within its timeout (a snapshot, or 503 in the error shape)
    for run_id, who, _ in runs:
        response = api.call("GET", f"/api/v1/runs/{run_id}", who)
        assert response.status_code in (200, 503), response.text
    back(stack, "temporal", old)
    wait_for(lambda: "Temporal dev server is back" in stack.output(), 90)
    for run_id, who, request in runs:
        assert api.run(run_id, who)["status"] == "waiting", "runs survive a Temporal restart"
        assert api.decide_until_settled(request["id"], BOSS, timeout=120)[-1] == 200
    for run_id, who, _ in runs:
        api.completed_with_one_decision(run_id, who, timeout=120)


def test_redis_killed_then_flushed(stack: Up, api: Client):
    runs = waiting_runs(api, RUNS // 2)
    old = kill(stack, "redis")
    back(stack, "redis", old)
    wait_for(lambda: "Redis server is back" in stack.output(), 60)
    client = redis.Redis.from_url(f"unix://{stack.data_dir / 'redis.sock'}")
    client.flushall()
    for run_id, who, request in runs:
        # rebuilt from Temporal: the run and its request read as they are, never older
        assert api.pending_request(run_id, who)["id"] == request["id"]
        assert api.decide_until_settled(request["id"], BOSS)[-1] == 200
    for run_id, who, _ in runs:
        run = api.completed_with_one_decision(run_id, who)
        assert api.run(run_id, who)["status"] == run["status"]


def test_up_killed_leaves_nothing_and_the_next_up_resumes(stack: Up, api: Client):
    runs = waiting_runs(api, RUNS // 2)
    os.kill(stack.proc.pid, signal.SIGKILL)
    stack.proc.wait(10)
    wait_for(lambda: not children_of(stack.data_dir) and not port_in_use(stack.port), 30, 0.2)
    again = Up(stack.data_dir)
    again.port, again.env["WORKFLOWS_PORT"] = stack.port, str(stack.port)
    for name in ("WORKFLOWS_TEMPORAL_PORT", "WORKFLOWS_TEMPORAL_UI_PORT"):
        again.env[name] = stack.env[name]
    again.start()
    try:
        again.wait_ready(120)
        resumed = Client(again)
        for run_id, who, request in runs:
            assert resumed.run(run_id, who)["status"] == "waiting"
            assert resumed.decide_until_settled(request["id"], BOSS)[-1] == 200
        for run_id, who, _ in runs:
            resumed.completed_with_one_decision(run_id, who)
    finally:
        assert again.stop() == 0, again.output()
    assert children_of(Path(stack.data_dir)) == []
    print(f"\nslowest API call during the faults: {max(api.slowest, resumed.slowest):.1f}s")
