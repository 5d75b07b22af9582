"""Node-based runs over time: timers, child runs, early responses, continue-as-new, pinned versions."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from plugin.engine.interpreter.spec import definition_version
from plugin.engine.interpreter.workflow import NodeWorkflow
from plugin.engine.run_snapshots import RunSnapshotInterceptor
from plugin.models import RunInput
from tests.conftest import auth
from tests.fixtures_nodes import *  # noqa: F403  module-scoped fixtures: stub, node_worker, node_app...
from tests.fixtures_nodes import run_of, temporal, trigger, wait_run
from tests.node_programs import programs, strip_twins


def person() -> str:
    return f"p-{uuid.uuid4().hex[:8]}@example.com"


def query(client, run_id: str, name: str):
    return temporal(client.application, lambda c: c.get_workflow_handle(run_id).query(name))


def resolve(client, run: dict, who: str, resolution: str, after_restart: bool = False) -> None:
    request_id = [r for r in run["requests"] if r["status"] == "pending"][0]["id"]
    response = client.post(f"/api/v1/requests/{request_id}/resolve", headers=auth(user=who),
                           json={"resolution": resolution})
    if after_restart and response.status_code == 409:
        # Right after a worker restart the first task of a run waits out the old worker's sticky queue
        # (5 s), longer than the API waits for an update: it then answers from the state, which shows
        # this very decision applied meanwhile.
        assert response.json["error"]["details"]["decided_by"] == who, response.json
        return
    assert response.status_code == 200, response.json


def test_delays_timeouts_and_step_retries(node_client):
    run = wait_run(node_client, trigger(node_client, "timers", {}))
    assert run["status"] == "completed", run
    assert run["output"] == {"short": 0.2, "past": 0.0, "timeout_error": "Timeout"}
    steps = {r["step"]: r for r in query(node_client, run["id"], "step_timeline")}
    assert steps["too_slow"]["status"] == "handled" and steps["too_slow"]["attempts"] == 2
    assert steps["too_slow"]["error"]["type"] == "Timeout"
    response = node_client.get(f"/api/v1/runs/{run['id']}/steps", headers=auth(user="tester@example.com"))
    assert response.status_code == 200, response.json
    by_id = {s["step_id"]: s for s in response.json["steps"]}
    assert by_id["too_slow"]["kind"] == steps["too_slow"]["kind"] and by_id["too_slow"]["attempts"] == 2
    assert by_id["too_slow"]["status"] == "handled" and by_id["too_slow"]["error"]
    assert set(by_id) == set(steps), "the API lists the definition's steps, not the interpreter's activities"


def test_call_runs_a_pinned_child_definition_waiting_or_not(node_client):
    run = wait_run(node_client, trigger(node_client, "parent", {"n": 21}))
    assert run["status"] == "completed", run
    child = run["output"]["child"]
    assert child["doubled"] == 42 and len(child["version"]) == 64
    fired = wait_run(node_client, run["output"]["fired"])
    assert fired["workflow"] == "node_workflow" and fired["output"]["doubled"] == 2
    assert fired["definition_version"] == child["version"]


def test_a_failed_child_fails_the_call_step_and_on_error_can_end_the_run(node_client):
    run = wait_run(node_client, trigger(node_client, "parent", {"n": -1}))
    assert run["status"] == "completed", run
    assert run["output"]["type"] == "NegativeNumber"
    assert "n must not be negative, got -1" in run["output"]["child_failed"]


def test_respond_answers_while_the_run_goes_on(node_client):
    ticket = uuid.uuid4().hex[:8]
    run_id = trigger(node_client, "respond_early", {"ticket": ticket})
    deadline = time.monotonic() + 10
    while not (answer := query(node_client, run_id, "respond_value"))["responded"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert answer["status"] == 202 and answer["body"] == {"ticket": ticket, "queued": True}
    assert run_of(node_client, run_id)["status"] == "running", "the run goes on after responding"
    run = wait_run(node_client, run_id)
    assert run["output"] == {"ticket": ticket, "finished": True}
    assert query(node_client, run_id, "respond_value")["body"] == {"ticket": ticket, "queued": True}


def test_a_waiting_trigger_answers_with_the_respond_step_while_the_run_goes_on(node_client):
    ticket = uuid.uuid4().hex[:8]
    response = node_client.post("/api/v1/queries/respond_early/runs?wait=10", headers=auth(user="t@example.com"),
                                json={"input": {"ticket": ticket}})
    assert response.status_code == 202, response.json
    assert response.json["responded"] is True and response.json["status"] == "running"
    assert response.json["output"] == {"ticket": ticket, "queued": True}
    run = wait_run(node_client, response.json["run_id"])
    assert run["output"] == {"ticket": ticket, "finished": True}


def test_a_long_loop_continues_as_new_keeping_run_id_requests_and_state(node_client):
    approver = person()
    run_id = trigger(node_client, "long_loop", {"count": 60, "approver": approver})
    run = wait_run(node_client, run_id, ("waiting",))
    resolve(node_client, run, approver, "Go")
    run = wait_run(node_client, run_id, timeout=60)
    assert run["status"] == "completed", run
    assert run["output"]["squares"] == [n * n for n in range(60)]
    assert run["output"]["started"] == "Go" and run["output"]["decided_by"] == [approver]
    deadline = time.monotonic() + 15  # visibility may lag a little behind
    while (runs := temporal(node_client.application, _chain_length(run_id))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs >= 2, "the loop continued as new at least once"
    state = query(node_client, run_id, "run_state")
    assert [r["status"] for r in state["requests"]] == ["resolved"], "requests survive continue-as-new"
    assert state["request_seq"] == 1
    assert [a["action"] for a in run["audit"]] == ["request_opened", "decided"]
    assert [(r["status"], r["resolution"]) for r in run["requests"]] == [("resolved", "Go")], \
        "run detail still shows the request decided before continue-as-new"
    assert [d["actor"] for d in run["decisions"]] == [approver]


def _chain_length(run_id: str):
    async def count(client) -> int:
        n = 0
        async for _ in client.list_workflows(f"WorkflowId = '{run_id}'"):
            n += 1
        return n
    return count


def test_an_edited_definition_never_changes_a_waiting_run(node_client, node_app, node_workspace, node_worker):
    approver = person()
    old_run = trigger(node_client, "gate", {"approver": approver})
    old = wait_run(node_client, old_run, ("waiting",))
    path = node_workspace / "definitions" / "gate.json"
    content = json.loads(path.read_text())
    content["version"] = "2"
    content["steps"][0]["name"] = "Gate v2"
    content["steps"][1]["values"]["edition"] = "v2"
    path.write_text(json.dumps(content))
    # A restarted worker and a fresh API both load the edited file.
    node_worker.stop()
    node_worker.start()
    from plugin.api import create_app

    fresh = create_app(node_app.extensions["workflows"].settings)
    fresh.config["TESTING"] = True
    fresh_client = fresh.test_client()
    try:
        new_run = trigger(fresh_client, "gate", {"approver": approver})
        new = wait_run(fresh_client, new_run, ("waiting",))
        assert new["requests"][0]["name"] == "Gate v2"
        assert new["definition_version"] != old["definition_version"]
        resolve(fresh_client, old, approver, "Open", after_restart=True)
        resolve(fresh_client, new, approver, "Open")
        assert wait_run(fresh_client, old_run)["output"] == {"edition": "v1", "resolution": "Open"}
        assert wait_run(fresh_client, new_run)["output"] == {"edition": "v2", "resolution": "Open"}
        assert run_of(fresh_client, old_run)["definition_version"] == old["definition_version"]
    finally:
        fresh.extensions["workflows"].gateway.close()


# -- determinism: replay ------------------------------------------------------------------------

HISTORIES = Path(__file__).parent / "histories"


def replay(history: WorkflowHistory) -> None:
    """Replay a history against the current workflow code, with the worker's interceptors."""
    replayer = Replayer(workflows=[NodeWorkflow], interceptors=[RunSnapshotInterceptor()])
    asyncio.run(replayer.replay_workflow(history))


def load_history(path: Path) -> WorkflowHistory:
    """A history recorded by ``RECORD_HISTORIES=1 pytest tests/test_nodes_runs.py -k fresh``."""
    record = json.loads(path.read_text())
    return WorkflowHistory.from_json(record["workflow_id"], record["history"])


def test_committed_histories_replay_against_the_current_code():
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "tests/histories holds recorded node_workflow histories"
    for path in files:
        replay(load_history(path))


def test_fresh_histories_of_every_kind_replay(node_client, stub):
    stub.route("/price", (200, {"price": 60}))
    stub.route("/orders", (201, {"ok": True}))
    approver = person()
    ordered = trigger(node_client, "quote_order", {"base_url": stub.url, "item": "lamp", "qty": 2,
                                                   "approver": approver})
    resolve(node_client, wait_run(node_client, ordered, ("waiting",)), approver, "Approve")
    runs = [ordered, trigger(node_client, "parallel_first_failure", {"fail_fast_branch": True}),
            trigger(node_client, "parallel_any", {"fail_fast_branch": False}),
            trigger(node_client, "timers", {}), trigger(node_client, "parent", {"n": 3})]
    for run_id in runs:
        wait_run(node_client, run_id)
        history = temporal(node_client.application, lambda c, r=run_id: c.get_workflow_handle(r).fetch_history())
        replay(history)
        if os.environ.get("RECORD_HISTORIES"):
            HISTORIES.mkdir(exist_ok=True)
            name = run_id.split("-")[0]
            record = {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}
            (HISTORIES / f"{name}.json").write_text(json.dumps(record))


def test_a_changed_definition_in_the_history_is_caught_by_replay():
    history = load_history(HISTORIES / "quote_order.json")
    started = history.events[0].workflow_execution_started_event_attributes
    inp = json.loads(started.input.payloads[0].data)
    inp["definition"]["steps"].insert(0, {"id": "extra", "kind": "delay", "duration": 1})
    started.input.payloads[0].data = json.dumps(inp).encode()
    with pytest.raises(Exception, match="[Nn]ondetermin"):
        replay(history)


# -- property: the interpreter computes what the reference evaluator computes --------------------

@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=programs(), x=st.integers(-50, 50))
def test_generated_definitions_run_like_the_reference_evaluator(node_client, node_settings, program, x):
    definition = strip_twins(program.definition)
    inp = RunInput(data={"x": x}, definition=definition, definition_version=definition_version(definition))
    run_id = f"generated-{uuid.uuid4().hex}"
    output = temporal(node_client.application, lambda c: c.execute_workflow(
        "node_workflow", inp, id=run_id, task_queue=node_settings.task_queue,
        execution_timeout=timedelta(seconds=20)))
    assert output == program.expected(x)
