"""The first slice end to end through HTTP: submit an expense, a manager approves, the run completes."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import auth


def wait_for(fn, timeout: float = 20.0, interval: float = 0.1):
    """Poll until ``fn`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def employee() -> str:
    return f"emp-{uuid.uuid4().hex[:8]}@example.com"


def submit(client, who: str, amount: float, description: str = "Train ticket"):
    return client.post("/api/v1/queries/submit_expense/runs", headers=auth(user=who),
                       json={"input": {"employee": who, "amount": amount, "description": description}})


def run_status(client, run_id: str, who: str) -> dict:
    response = client.get(f"/api/v1/runs/{run_id}", headers=auth(user=who))
    assert response.status_code == 200, response.json
    return response.json


def test_small_amount_completes_approved_at_once(client):
    who = employee()
    response = submit(client, who, 42.5)
    assert response.status_code == 202, response.json
    run_id = response.json["run_id"]
    run = wait_for(lambda: (r := run_status(client, run_id, who))["status"] == "completed" and r)
    assert run["output"]["approved"] is True
    assert run["output"]["decision"]["by"] == "policy"
    assert run["input"] == {"employee": who, "amount": 42.5, "description": "Train ticket"}
    assert run["started_by"] == who and run["query"] == "submit_expense"


def test_large_amount_waits_for_a_manager_then_completes(client):
    who, manager = employee(), f"boss-{uuid.uuid4().hex[:6]}@example.com"
    run_id = submit(client, who, 640, "Conference").json["run_id"]
    run = wait_for(lambda: (r := run_status(client, run_id, who))["status"] == "waiting" and r)
    request_id = run["requests"][0]["id"]

    def my_requests():
        listing = client.get("/api/v1/requests", headers=auth(user=manager, groups="managers"))
        assert listing.status_code == 200, listing.json
        return [r for r in listing.json["requests"] if r["id"] == request_id]

    [request] = wait_for(my_requests)
    assert request["resolutions"] == ["Approve", "Reject"]
    assert request["status"] == "pending" and request["metadata"]["amount"] == 640

    resolved = client.post(f"/api/v1/requests/{request_id}/resolve",
                           headers=auth(user=manager, groups="managers"),
                           json={"resolution": "Approve", "comment": "fine"})
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["status"] == "resolved" and resolved.json["resolution"] == "Approve"

    run = wait_for(lambda: (r := run_status(client, run_id, who))["status"] == "completed" and r)
    decision = run["output"]["decision"]
    assert run["output"]["approved"] is True
    assert decision["by"] == manager and decision["resolution"] == "Approve" and decision["at"]
    assert run["decisions"][0]["actor"] == manager
    assert not my_requests(), "a decided request leaves the pending inbox"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": 5, "description": "x"}, "input.employee"),
        ({"employee": "a@example.com", "amount": -1, "description": "x"}, "input.amount"),
        ({"employee": "a@example.com", "amount": "12", "description": "x"}, "input.amount"),
        ({"employee": "not-an-email", "amount": 1, "description": "x"}, "input.employee"),
        ({"employee": "a@example.com", "amount": 1, "description": "x", "extra": 1}, "input.extra"),
    ],
)
def test_invalid_input_is_422_naming_the_field(client, data, field):
    response = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user="a@example.com"),
                           json={"input": data})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert field in error["details"]["fields"], error
    assert field in error["message"]


def test_body_that_is_not_json_is_400(client):
    response = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user="a@example.com"),
                           data="amount=5", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "JSON" in response.json["error"]["message"]
    broken = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user="a@example.com"),
                         data="{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json["error"]["code"] == "bad_request"


def test_missing_input_key_is_422(client):
    response = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user="a@example.com"),
                           json={"employee": "a@example.com"})
    assert response.status_code == 422
    assert "input" in response.json["error"]["details"]["fields"]
