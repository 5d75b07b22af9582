"""What a run tells its caller: a bad request option fails the step in plain words; a failed run names
its step; step attempts are counted; ``?wait`` says ``waiting`` while a person must act."""

from __future__ import annotations

import uuid

from tests.conftest import ADMIN_KEY, auth
from tests.fixtures_nodes import *  # noqa: F403  module-scoped fixtures: stub, node_worker, node_app...
from tests.fixtures_nodes import trigger, wait_run


def test_a_template_giving_a_string_for_groups_fails_the_step_instead_of_splitting_it(node_client):
    run = wait_run(node_client, trigger(node_client, "group_gate", {"team": "managers"}),
                   statuses=("failed", "waiting"))
    assert run["status"] == "failed", run
    assert "groups must be a list of strings, not str 'managers'" in run["error"]["message"], run["error"]
    assert run["requests"] == []


def test_wait_on_a_run_waiting_for_a_person_says_waiting(node_client):
    response = node_client.post("/api/v1/queries/gate/runs?wait=2", headers=auth(user="t@example.com"),
                                json={"input": {"approver": "boss@example.com"}})
    assert response.status_code == 202, response.json
    assert response.json["status"] == "waiting", response.json


def steps_of(client, run_id: str) -> list[dict]:
    response = client.get(f"/api/v1/runs/{run_id}/steps", headers=auth(key=ADMIN_KEY, user="t@example.com"))
    assert response.status_code == 200, response.json
    return response.json["steps"]


def test_a_failed_run_names_its_step_and_the_timeline_counts_every_attempt(node_client, stub):
    path = f"/down-{uuid.uuid4().hex[:6]}"
    url = stub.route(path, (503, {"busy": True}))
    run_id = trigger(node_client, "flaky_fetch", {"url": url})
    run = wait_run(node_client, run_id)
    assert run["status"] == "failed" and run["error"].get("step") == "fetch", run["error"]
    assert "after 3 attempts" in run["error"]["message"]
    [fetch] = [s for s in steps_of(node_client, run_id) if s["step_id"] == "fetch"]
    assert fetch["status"] == "failed" and fetch["attempts"] == 3, fetch


def test_a_step_that_succeeded_on_a_retry_shows_its_attempts(node_client, stub):
    url = stub.route(f"/flaky-{uuid.uuid4().hex[:6]}", (503, {"busy": 1}), (200, {"ok": True}))
    run_id = trigger(node_client, "flaky_fetch", {"url": url})
    assert wait_run(node_client, run_id)["status"] == "completed"
    [fetch] = [s for s in steps_of(node_client, run_id) if s["step_id"] == "fetch"]
    assert fetch["status"] == "completed" and fetch["attempts"] == 2, fetch


def test_an_ended_request_in_a_code_workflow_names_the_request_as_the_failed_step():
    from temporalio.exceptions import ApplicationError

    from plugin.engine.run_snapshots import failure_summary

    error = ApplicationError("Request 'Approve' expired", {"request_id": "r:abc-1", "step": "Approve"},
                             type="RequestExpired")
    assert failure_summary(error) == {"type": "RequestExpired", "message": "Request 'Approve' expired",
                                      "step": "Approve"}
