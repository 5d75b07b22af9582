"""Trigger workflow: async and sync answers, waits, limits and the errors a caller can make."""

from __future__ import annotations

import pytest

from tests.conftest import APP_KEY, auth
from tests.runs_helpers import ended, error_of, get_run, trigger, user


def test_queries_list_their_input_schema_mode_and_id_strategy(client):
    response = client.get("/api/v1/queries", headers=auth())
    assert response.status_code == 200
    queries = {q["name"]: q for q in response.json["queries"]}
    assert queries["submit_expense"]["input_schema"]["required"] == ["employee", "amount", "description"]
    assert queries["runs_lab_sync"]["mode"] == "sync" and queries["runs_lab_sync"]["wait_seconds"] == 5
    assert queries["runs_lab_keyed"]["run_id"] == "lab-order-{order}"
    assert queries["runs_lab"]["run_id"] == "random" and queries["runs_lab_short"]["timeout_seconds"] == 1


def test_queries_need_a_valid_key(client):
    assert error_of(client.get("/api/v1/queries"))["code"] == "unauthorized"
    assert client.get("/api/v1/queries", headers=auth("wrong-key-0123456789")).status_code == 401


def test_async_trigger_answers_202_with_a_status_url_and_records_who_and_from_which_app(client):
    who = user()
    started = trigger(client, who, {"value": "hi"}, headers={"X-Workflows-App": "Expenses app"})
    assert started["status"] == "running" and started["existing"] is False
    assert started["status_url"] == f"/api/v1/runs/{started['run_id']}"
    run = ended(client, started["run_id"], who)
    assert run["status"] == "completed" and run["output"] == {"echo": "hi"}
    assert run["started_by"] == who and run["query"] == "runs_lab" and run["app"] == "Expenses app"
    assert run["input"] == {"value": "hi"} and run["workflow"] == "runs_lab"


def test_wait_returns_the_output_when_the_run_ends_in_time(client):
    body = trigger(client, user(), {"value": "quick"}, params="?wait=10", expect=200)
    assert body["status"] == "completed" and body["output"] == {"echo": "quick"} and body["run_id"]


def test_wait_answers_202_with_the_run_when_it_does_not_end_in_time(client):
    body = trigger(client, user(), {"sleep": 30}, params="?wait=1", expect=202)
    assert body["status"] == "running" and body["status_url"].endswith(body["run_id"])


def test_sync_query_waits_by_default_and_wait_0_makes_it_async(client):
    assert trigger(client, user(), {"value": "s"}, query="runs_lab_sync", expect=200)["output"] == {"echo": "s"}
    assert trigger(client, user(), {"value": "s"}, query="runs_lab_sync", params="?wait=0", expect=202)


def test_a_run_failing_within_the_wait_answers_the_error_shape_with_the_run_id(client):
    response = client.post("/api/v1/queries/runs_lab/runs?wait=10", headers=auth(user=user()),
                           json={"input": {"fail": "no budget code"}})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "run_failed" and "no budget code" in error["message"]
    details = error["details"]
    assert details["status"] == "failed" and details["error"]["type"] == "LabFailure"
    assert get_run(client, details["run_id"])["status"] == "failed"


def test_a_run_over_its_time_limit_is_timed_out(client):
    response = client.post("/api/v1/queries/runs_lab_short/runs?wait=15", headers=auth(user=user()),
                           json={"input": {"sleep": 30}})
    assert response.status_code == 422, response.json
    assert error_of(response)["details"]["status"] == "timed_out"


@pytest.mark.parametrize("wait", ["61", "-1", "soon", "1.5"])
def test_a_bad_wait_is_422_naming_it(client, wait):
    response = client.post(f"/api/v1/queries/runs_lab/runs?wait={wait}", headers=auth(user=user()),
                           json={"input": {}})
    assert response.status_code == 422
    assert "wait" in error_of(response)["details"]["fields"]


def test_an_unknown_query_argument_is_422(client):
    response = client.post("/api/v1/queries/runs_lab/runs?wiat=3", headers=auth(user=user()), json={"input": {}})
    assert response.status_code == 422 and "wiat" in error_of(response)["details"]["fields"]


def test_unknown_query_is_404(client):
    response = client.post("/api/v1/queries/nope/runs", headers=auth(user=user()), json={"input": {}})
    assert response.status_code == 404 and "GET /api/v1/queries" in error_of(response)["message"]


def test_a_body_over_the_limit_is_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/queries/runs_lab/runs", headers=auth(user=user()),
                           json={"input": {"value": "x" * (limit + 10)}})
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"


def test_a_body_that_is_not_an_object_or_lacks_input_is_refused(client):
    headers = auth(user=user())
    assert client.post("/api/v1/queries/runs_lab/runs", headers=headers, json=[1]).status_code == 422
    bad = client.post("/api/v1/queries/runs_lab/runs", headers=headers, json={"input": {"sleep": "long"}})
    assert bad.status_code == 422 and "input.sleep" in error_of(bad)["details"]["fields"]


def test_bad_app_header_is_400(client):
    response = client.post("/api/v1/queries/runs_lab/runs", headers={**auth(user=user()),
                                                                      "X-Workflows-App": "it's"},
                           json={"input": {}})
    assert response.status_code == 400 and error_of(response)["details"]["header"] == "X-Workflows-App"


def test_an_app_key_trigger_must_name_the_starter(client):
    # Without a named starter the run would be one its own caller cannot see, and the person named in its
    # input could approve it (the self-approval check compares with the starter).
    response = client.post("/api/v1/queries/runs_lab/runs", headers=auth(APP_KEY), json={"input": {}})
    assert response.status_code == 400 and error_of(response)["details"]["header"] == "X-Workflows-User"


def test_a_blank_optional_field_counts_as_not_sent(client):
    """Host forms send every field they declare, "" when left blank (Budibase's imported trigger, Appsmith's
    Form data): a blank optional field that would be refused is taken as not sent; a blank required one is not."""
    who = "blank-optional@example.com"
    base = {"employee": who, "amount": 5, "description": "Taxi"}
    started = client.post("/api/v1/queries/submit_expense_fast_clock/runs", headers=auth(user=who),
                          json={"input": {**base, "cc": ""}})
    assert started.status_code == 202, started.json
    refused = client.post("/api/v1/queries/submit_expense_fast_clock/runs", headers=auth(user=who),
                          json={"input": {**base, "description": "", "cc": ""}})
    assert refused.status_code == 422
    assert set(refused.json["error"]["details"]["fields"]) == {"input.description"}, refused.json
