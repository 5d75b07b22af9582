"""The refund-processing sample end to end through HTTP: the payments system's signed webhook starts a run and
gets the run id and the next decision at once; the order comes over the payments connection; support decides;
the refund call rides out the provider's 503s with backoff."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, finished, pending_requests, person
from tests.sample_helpers import serve_sample
from tests.webhook_helpers import enable, post_hook, signed_headers


@pytest.fixture(scope="module")
def refunds(settings, tmp_path_factory):
    yield from serve_sample(settings, "refund-processing", tmp_path_factory.mktemp("refunds"))


@pytest.fixture(scope="module")
def hook(refunds) -> dict:
    """The process_refund webhook, enabled with signatures required (token and signing secret)."""
    return enable(refunds.app.test_client(), "process_refund", signed=True)


def send(client, hook: dict, data: dict):
    """What the payments system does: POST the event, signed."""
    body = json.dumps(data).encode()
    return post_hook(client, "process_refund", hook["token"], raw=body, headers=signed_headers(hook["signing_secret"],
                                                                                             body))


def test_the_webhook_answers_at_once_then_support_approves_and_the_refund_survives_503s(refunds, hook):
    client = refunds.app.test_client()
    answer = send(client, hook, {"order_id": "ord-1001", "amount": 45.5, "reason": "Damaged in transit"})
    assert answer.status_code == 202, answer.json
    run_id = answer.json["run_id"]
    assert answer.headers["X-Workflows-Run-Id"] == run_id
    assert answer.json["next"] == {"decision": "Approve refund", "groups": ["support"],
                                   "resolutions": ["Approve", "Reject"]}
    assert answer.json["order"] == {"id": "ord-1001", "customer": "ann@example.com", "total": 120.0}

    [request] = pending_requests(client, run_id)
    assert request["metadata"]["order_total"] == 120.0 and "ann@example.com" in request["message"]
    agent = person("support")
    assert act(client, request["id"], agent, groups="support", resolution="Approve").status_code == 200

    run = finished(client, run_id)
    assert run["status"] == "completed", run
    assert run["output"]["refunded"] is True and run["output"]["attempts"] == 3
    assert run["output"]["decided_by"] == [agent]
    made = requests.get(f"{refunds.stub_url}/refunds", timeout=5).json()
    [refund] = [r for r in made["refunds"] if r["key"] == run_id]
    assert refund["refund_id"] == run["output"]["refund_id"] and made["attempts"][run_id] == 3
    steps = client.get(f"/api/v1/runs/{run_id}/steps", headers=auth(ADMIN_KEY))
    assert steps.status_code == 200, steps.json
    [call] = [s for s in steps.json["steps"] if s["name"] == "Refund through the payments API"]
    assert call["attempts"] == 3 and call["status"] == "completed"


def test_support_rejects_and_nothing_is_refunded(refunds, hook):
    client = refunds.app.test_client()
    run_id = send(client, hook, {"order_id": "ord-1002", "amount": 10, "reason": "Changed my mind"}).json["run_id"]
    [request] = pending_requests(client, run_id)
    act(client, request["id"], person("support"), groups="support", resolution="Reject", comment="Past 30 days")
    output = finished(client, run_id)["output"]
    assert output == {**output, "refunded": False, "refund_id": None, "comment": "Past 30 days"}
    made = requests.get(f"{refunds.stub_url}/refunds", timeout=5).json()
    assert run_id not in made["attempts"]


def test_a_refund_over_the_order_fails_at_once_and_unsigned_events_are_refused(refunds, hook):
    client = refunds.app.test_client()
    too_much = send(client, hook, {"order_id": "ord-1003", "amount": 5000, "reason": "x"})
    assert too_much.status_code == 422, too_much.json
    assert too_much.json["error"]["details"]["error"]["type"] == "RefundTooLarge"
    unsigned = post_hook(client, "process_refund", hook["token"], {"order_id": "ord-1003", "amount": 1, "reason": "x"})
    assert unsigned.status_code == 401
    unknown = send(client, hook, {"order_id": "ord-9999", "amount": 1, "reason": "x"})
    assert unknown.status_code == 422 and unknown.json["error"]["details"]["error"]["step"] == "order"


@pytest.mark.parametrize("order_id", ["../refunds", "%2e%2e%2frefunds", ".."])
def test_an_order_id_that_climbs_the_path_fails_the_lookup_and_reads_nothing_else(refunds, hook, order_id):
    """``../refunds`` would have fetched every refund with the payments connection's credentials."""
    client = refunds.app.test_client()
    answer = send(client, hook, {"order_id": order_id, "amount": 1, "reason": "x"})
    assert answer.status_code == 422, answer.json
    assert "refund_id" not in json.dumps(answer.json)
    if answer.json["error"]["code"] == "validation_failed":  # a '/' would also make the run's id unreachable:
        assert "input.order_id" in answer.json["error"]["details"]["fields"]  # refused before anything runs
        return
    error = answer.json["error"]["details"]["error"]
    assert error["step"] == "order" and error["type"] == "InvalidPathValue", error
    assert "failed: path: " in error["message"]
