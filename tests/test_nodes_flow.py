"""Node-based definitions end to end: trigger through the API, the interpreter runs each step kind on the
real Temporal dev server, outbound HTTP goes to a stub server on loopback (allow-listed)."""

from __future__ import annotations

import uuid

from tests.conftest import auth
from tests.fixtures_nodes import *  # noqa: F403  module-scoped fixtures: stub, node_worker, node_app...
from tests.fixtures_nodes import temporal, trigger, wait_run


def person() -> str:
    return f"p-{uuid.uuid4().hex[:8]}@example.com"


def resolve(client, run: dict, who: str, resolution: str) -> dict:
    request_id = run["requests"][0]["id"]
    response = client.post(f"/api/v1/requests/{request_id}/resolve", headers=auth(user=who),
                           json={"resolution": resolution})
    assert response.status_code == 200, response.json
    return response.json


def test_small_order_is_priced_and_recorded_without_approval(node_client, stub):
    stub.route("/price", (200, {"price": 7.5}))
    stub.route("/orders", (201, {"ok": True}))
    item = f"pen-{uuid.uuid4().hex[:6]}"
    run_id = trigger(node_client, "quote_order", {"base_url": stub.url, "item": item, "qty": 4,
                                                   "approver": person()})
    run = wait_run(node_client, run_id)
    assert run["status"] == "completed", run
    assert run["output"] == {"total": 30.0, "approved": True, "recorded": 201}
    [price_call] = [r for r in stub.hits("/price") if r["query"].get("item") == [item]]
    assert price_call["headers"]["X-Order"] == f"{item}-4"
    [order] = [r for r in stub.hits("/orders") if r["body"]["item"] == item]
    assert order["method"] == "POST" and order["body"] == {"item": item, "total": 30.0, "approved": True}
    assert run["definition_version"] and len(run["definition_version"]) == 64


def test_large_order_waits_for_the_approver_and_records_the_decision(node_client, stub):
    stub.route("/price", (200, {"price": 60}))
    stub.route("/orders", (201, {"ok": True}))
    approver = person()
    run_id = trigger(node_client, "quote_order", {"base_url": stub.url, "item": "desk", "qty": 3,
                                                   "approver": approver})
    run = wait_run(node_client, run_id, ("waiting",))
    [request] = run["requests"]
    assert request["name"] == "Approve order" and request["message"] == "3 x desk = 180"
    assert request["users"] == [approver] and request["metadata"] == {"total": 180}
    resolve(node_client, run, approver, "Reject")
    run = wait_run(node_client, run_id)
    assert run["output"] == {"total": 180, "approved": False, "recorded": 201}
    assert run["decisions"][0]["actor"] == approver


def test_http_retries_the_named_status_codes_then_succeeds(node_client, stub):
    url = stub.route(f"/flaky-{uuid.uuid4().hex[:6]}", (503, {"busy": 1}), (503, {"busy": 2}), (200, {"ok": True}))
    run = wait_run(node_client, trigger(node_client, "flaky_fetch", {"url": url}))
    assert run["status"] == "completed", run
    assert run["output"]["status"] == 200 and run["output"]["body"] == {"ok": True}
    assert run["output"]["attempts"] == 3
    assert len(stub.hits(url.removeprefix(stub.url))) == 3


def test_http_gives_up_after_max_attempts_and_the_run_fails_naming_the_step(node_client, stub):
    path = f"/down-{uuid.uuid4().hex[:6]}"
    url = stub.route(path, (503, {"busy": True}))
    run = wait_run(node_client, trigger(node_client, "flaky_fetch", {"url": url}))
    assert run["status"] == "failed"
    assert "fetch" in run["error"]["message"] and "503" in run["error"]["message"], run["error"]
    assert len(stub.hits(path)) == 3


def test_a_failed_node_run_retries_on_its_definition_with_the_same_input(node_client, stub):
    path = f"/later-{uuid.uuid4().hex[:6]}"
    url = stub.route(path, (503, {"busy": True}), (503, {"busy": True}), (503, {"busy": True}), (200, {"ok": 1}))
    old = wait_run(node_client, trigger(node_client, "flaky_fetch", {"url": url}))
    assert old["status"] == "failed"
    response = node_client.post(f"/api/v1/runs/{old['id']}/retry", headers=auth(user="tester@example.com"))
    assert response.status_code in (200, 202), response.json
    new = wait_run(node_client, response.json["run_id"])
    assert new["status"] == "completed", new
    assert new["input"] == old["input"] and new["definition_version"] == old["definition_version"]
    assert new["retry_of"] == old["id"]


def test_a_status_that_is_not_retryable_fails_at_once_and_on_error_handles_it(node_client, stub):
    path = f"/missing-{uuid.uuid4().hex[:6]}"
    url = stub.route(path, (404, {"error": "no such thing"}))
    run = wait_run(node_client, trigger(node_client, "fetch_status", {"url": url}))
    assert run["status"] == "completed", run
    state = run["output"]["state"]
    assert state["error"] == "HttpStatus" and state["failed_step"] == "fetch" and "404" in state["message"]
    assert run["output"]["fetched"] == state, "a handled step's output is its handler's last output"
    assert len(stub.hits(path)) == 1


def test_outbound_calls_inside_the_network_are_refused_unless_allow_listed(node_client, stub):
    # The stub's own port is allowed; the same host on another port, and the metadata address, are not.
    for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/",
                "http://localhost:9/"):
        run = wait_run(node_client, trigger(node_client, "fetch_status", {"url": url}))
        state = run["output"]["state"]
        assert state["error"] == "ForbiddenAddress", (url, state)
        assert "WORKFLOWS_HTTP_ALLOW_HOSTS" in state["message"]


def test_redirects_to_a_forbidden_address_are_refused(node_client, stub):
    url = stub.route(f"/hop-{uuid.uuid4().hex[:6]}", (302, {"location": "http://127.0.0.1:9/inside"}))
    run = wait_run(node_client, trigger(node_client, "fetch_status", {"url": url}))
    assert run["output"]["state"]["error"] == "ForbiddenAddress", run["output"]


def test_parallel_all_waits_for_every_branch(node_client):
    run = wait_run(node_client, trigger(node_client, "parallel_all", {"fail_fast_branch": False}))
    assert run["status"] == "completed", run
    assert run["output"]["state"] == {"slow": "done", "fast": "done"}
    assert run["output"]["race"]["outputs"][0] == {"slow": "done"}


def test_parallel_all_fails_after_every_branch_ended_when_one_failed(node_client):
    run = wait_run(node_client, trigger(node_client, "parallel_all", {"fail_fast_branch": True}))
    assert run["status"] == "failed"
    assert "fast branch broke" in run["error"]["message"] and "race" in run["error"]["message"]
    steps = timeline(node_client, run["id"])
    assert steps["slow_done"]["status"] == "completed", "all: the slow branch still finished"


def test_parallel_first_failure_cancels_the_other_branches(node_client):
    run = wait_run(node_client, trigger(node_client, "parallel_first_failure", {"fail_fast_branch": True}))
    assert run["status"] == "failed" and "fast branch broke" in run["error"]["message"]
    steps = timeline(node_client, run["id"])
    assert steps["slow_wait"]["status"] == "cancelled" and "slow_done" not in steps


def test_parallel_any_is_done_at_the_first_success(node_client):
    run = wait_run(node_client, trigger(node_client, "parallel_any", {"fail_fast_branch": False}))
    assert run["status"] == "completed"
    assert run["output"]["race"]["winner"] == 1 and run["output"]["state"] == {"fast": "done"}
    failing = wait_run(node_client, trigger(node_client, "parallel_any", {"fail_fast_branch": True}))
    assert failing["status"] == "completed", "any: the slow branch still succeeds"
    assert failing["output"]["race"]["winner"] == 0


def timeline(client, run_id: str) -> dict[str, dict]:
    """The step_timeline query, by step id (the last record of each step)."""
    records = temporal(client.application, lambda c: c.get_workflow_handle(run_id).query("step_timeline"))
    return {r["step"]: r for r in records}


def test_sample_purchase_request_falls_back_to_fixed_rates_and_asks_a_manager(node_client):
    requester, manager = person(), person()
    run_id = trigger(node_client, "request_purchase", {"requester": requester, "item": "Laptop", "amount": 1000,
                                                        "currency": "EUR"}, user=requester)
    run = wait_run(node_client, run_id, ("waiting",))
    answer = temporal(node_client.application, lambda c: c.get_workflow_handle(run_id).query("respond_value"))
    assert answer["responded"] and answer["status"] == 202 and answer["body"]["run"] == run_id
    [request] = run["requests"]
    assert request["groups"] == ["managers"] and request["metadata"] == {"item": "Laptop", "amount_usd": 1080.0}
    assert request["due_at"] and request["form"][0]["name"] == "cost_center"
    # The query's SLA policy: three working days on the New York office's calendar, the directors after two.
    assert request["sla"]["policy"] == "purchase-standard" and request["sla"]["time_zone"] == "America/New_York"
    assert request["due_at"] == request["sla"]["due_at"] and request["sla"]["escalations"][0]["groups"] == ["directors"]
    response = node_client.post(f"/api/v1/requests/{request['id']}/resolve",
                                headers=auth(user=manager, groups="managers"),
                                json={"resolution": "Approve", "payload": {"cost_center": "R&D"}})
    assert response.status_code == 200, response.json
    run = wait_run(node_client, run_id)
    assert run["output"]["approved"] is True and run["output"]["decided_by"] == manager
    assert run["output"]["amount_usd"] == 1080.0
    assert "fixed table used" in run["output"]["note"], "no network in tests: the rate service is unreachable"


def test_sample_purchase_request_small_usd_amount_is_approved_at_once(node_client):
    requester = person()
    run_id = trigger(node_client, "request_purchase", {"requester": requester, "item": "Pens", "amount": 12.5,
                                                        "currency": "USD"}, user=requester)
    run = wait_run(node_client, run_id)
    assert run["output"] == {"item": "Pens", "amount_usd": 12.5, "approved": True, "decided_by": "policy",
                             "note": ""}
