"""Cancel and retry, one run or many: who may, what state allows it, and the links between runs."""

from __future__ import annotations

from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import pending_requests
from tests.runs_helpers import ended, error_of, get_run, listed, trigger, user
from tests.test_expense_flow import wait_for


def post(client, path: str, who: str | None = None, json: dict | None = None, groups: str | None = None):
    headers = auth(user=who, groups=groups) if who else auth(ADMIN_KEY)
    return client.post(path, headers=headers, json=json if json is not None else {})


def test_cancel_of_a_waiting_run_withdraws_its_request_and_ends_it_cancelled(client):
    who, boss = user(), user("boss")
    run_id = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user=who), json={
        "input": {"employee": who, "amount": 700, "description": "Chair"}}).json["run_id"]
    [request] = pending_requests(client, run_id)
    refused = post(client, f"/api/v1/runs/{run_id}/cancel", boss, groups="managers")
    assert refused.status_code == 403, "an assignee sees the run but may not cancel it"
    response = post(client, f"/api/v1/runs/{run_id}/cancel", who)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["requests"][0]["status"] == "cancelled"
    # what the API answered is what the next read shows
    assert get_run(client, run_id, who)["status"] == "cancelled"
    inbox = client.get(f"/api/v1/requests/{request['id']}", headers=auth(user=boss, groups="managers"))
    assert inbox.json["status"] == "cancelled"
    again = post(client, f"/api/v1/runs/{run_id}/cancel", who)
    assert again.status_code == 409 and error_of(again)["details"]["status"] == "cancelled"


def test_cancel_of_someone_else_s_or_an_unknown_run_is_404(client):
    run_id = trigger(client, user(), {"sleep": 30})["run_id"]
    assert post(client, f"/api/v1/runs/{run_id}/cancel", user()).status_code == 404
    assert post(client, "/api/v1/runs/no-such-run/cancel").status_code == 404
    assert post(client, f"/api/v1/runs/{run_id}/cancel", json={"wait": 99}).status_code == 422
    assert post(client, f"/api/v1/runs/{run_id}/cancel").status_code == 200, "an admin may"


def test_retry_starts_a_linked_run_with_the_same_input_once(client):
    who = user()
    old = trigger(client, who, {"fail": "flaky", "value": "same"})["run_id"]
    ended(client, old, who)
    response = post(client, f"/api/v1/runs/{old}/retry", who)
    assert response.status_code == 202, response.json
    new = response.json["run_id"]
    assert response.json["retry_of"] == old and response.json["existing"] is False and new != old
    retried = ended(client, new, who)
    assert retried["retry_of"] == old and retried["input"] == {"fail": "flaky", "value": "same"}
    assert retried["started_by"] == who
    assert get_run(client, old, who)["retries"] == [new]
    twice = post(client, f"/api/v1/runs/{old}/retry", who)
    assert twice.json["run_id"] == new and twice.json["existing"] is True


def test_retry_of_an_open_run_is_409_and_of_a_hidden_one_404(client):
    who = user()
    run_id = trigger(client, who, {"sleep": 30})["run_id"]
    response = post(client, f"/api/v1/runs/{run_id}/retry", who)
    assert response.status_code == 409 and "cancel it" in error_of(response)["message"]
    assert post(client, f"/api/v1/runs/{run_id}/retry", user()).status_code == 404


def test_bulk_cancel_and_bulk_retry_by_filters(client):
    who = user()
    sleeping = {trigger(client, who, {"sleep": 60})["run_id"] for _ in range(3)}
    wait_for(lambda: len(listed(client, started_by=who, status="running").json["runs"]) == 3)
    response = post(client, "/api/v1/runs/bulk-cancel", who, {"limit": 2})
    assert response.status_code == 200, response.json
    assert response.json["matched"] == 2 and response.json["more"] is True
    rest = post(client, "/api/v1/runs/bulk-cancel", who, {}).json
    wait_for(lambda: len(listed(client, started_by=who, status="cancelled").json["runs"]) == 3)
    assert set(response.json["affected"]) | set(rest["affected"]) == sleeping
    retried = post(client, "/api/v1/runs/bulk-retry", who, {"status": "cancelled"}).json
    assert retried["matched"] == 3 and len(retried["affected"]) == 3 and not retried["more"]
    again = post(client, "/api/v1/runs/bulk-retry", who, {"status": "cancelled"}).json
    assert again["affected"] == [] and len(again["skipped"]) == 3, "each run is retried once"


def test_bulk_calls_refuse_statuses_they_cannot_act_on(client):
    who = user()
    for path, body in (("bulk-retry", {}), ("bulk-retry", {"status": "running"}),
                       ("bulk-cancel", {"status": "completed"}), ("bulk-cancel", {"limit": 500}),
                       ("bulk-cancel", {"since": "never"})):
        response = post(client, f"/api/v1/runs/{path}", who, body)
        assert response.status_code == 422, (path, body, response.json)
    assert post(client, "/api/v1/runs/bulk-cancel", who, {"started_by": user()}).status_code == 403
