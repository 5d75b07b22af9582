"""NaN and Infinity are not JSON: a body or an approval-link form carrying one is refused (422 naming the field),
and no answer ever carries one, even for a document stored before the rule (``JSON.parse`` would refuse it)."""

from __future__ import annotations

import json

import pytest

from plugin.store.inbox import PREFIX
from tests.conftest import ADMIN_KEY, auth
from tests.notification_helpers import links_received, receive_notifications
from tests.requests_helpers import act, inbox, pending_requests, person, run_detail, start_probe
from tests.runs_helpers import error_of
from tests.test_approval_links import JSON, path_of
from tests.webhook_helpers import enable, post_hook

SCORE_FORM = [{"name": "score", "label": "Score", "type": "number"}]


@pytest.fixture(scope="module")
def notified(app):
    """Notifications (with their approval links) reach a stub for this module."""
    yield from receive_notifications(app)


def strict(text: str):
    """Parse as a browser does: NaN, Infinity and -Infinity are errors."""
    def refuse(token: str):
        raise AssertionError(f"{token} in an answer: JSON.parse would refuse it")
    return json.loads(text, parse_constant=refuse)


def raw_post(client, path: str, body: str, headers: dict[str, str]):
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_a_decision_with_a_non_finite_number_is_refused_naming_the_field(client, literal):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Score it", "users": [boss]}])
    request = pending_requests(client, run_id)[0]
    answer = raw_post(client, f"/api/v1/requests/{request['id']}/resolve",
                      f'{{"resolution": "Approve", "payload": {{"score": {literal}, "ok": [1, {literal}]}}}}',
                      auth(user=boss))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    error = error_of(answer)
    assert set(error["details"]["fields"]) == {"payload.score", "payload.ok.1"}
    assert "not a finite number" in error["message"]
    assert run_detail(client, run_id)["requests"][0]["status"] == "pending", "nothing was decided"
    assert act(client, request["id"], boss, resolution="Approve", payload={"score": 1.5}).status_code == 200


def test_triggers_and_webhooks_refuse_non_finite_numbers(client):
    answer = raw_post(client, "/api/v1/queries/runs_lab/runs", '{"input": {"sleep": NaN}}', auth(user=person()))
    assert answer.status_code == 422 and set(error_of(answer)["details"]["fields"]) == {"input.sleep"}
    answer = post_hook(client, "runs_lab", enable(client)["token"], raw=b'{"sleep": 1e999}')
    assert answer.status_code == 422 and set(error_of(answer)["details"]["fields"]) == {"sleep"}


@pytest.mark.parametrize("typed", ["nan", "1e999", "-inf", "Infinity"])
def test_an_approval_link_form_refuses_non_finite_numbers_and_the_link_stays_usable(client, notified, typed):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Score it", "users": [boss], "form": SCORE_FORM}])
    request = pending_requests(client, run_id)[0]
    approve = path_of(links_received(notified, request["id"])[boss]["Approve"])
    refused = client.post(approve, data={"field.score": typed}, headers=JSON)
    assert refused.status_code == 422 and set(error_of(refused)["details"]["fields"]) == {"score"}
    assert run_detail(client, run_id)["requests"][0]["status"] == "pending"
    decided = client.post(approve, data={"field.score": "7.5"}, headers=JSON)
    assert decided.status_code == 200, decided.json
    assert run_detail(client, run_id)["requests"][0]["decisions"][0]["payload"] == {"score": 7.5}


def test_a_document_stored_with_nan_is_served_as_valid_json(client, app):
    """A request stored before the rule (or by a workflow's own arithmetic): every answer stays parseable."""
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Legacy", "users": [boss], "metadata": {"n": 1}}])
    request = pending_requests(client, run_id)[0]
    redis_client = app.extensions["workflows"].redis
    key = f"{PREFIX}req:{request['id']}"
    doc = json.loads(redis_client.hget(key, "doc"))
    doc["metadata"] = {"n": float("nan"), "big": float("inf")}
    redis_client.hset(key, "doc", json.dumps(doc, separators=(",", ":")))  # Python writes NaN by default
    assert b"NaN" in redis_client.hget(key, "doc")

    page = client.get("/api/v1/requests", headers=auth(user=boss))
    assert page.status_code == 200
    listed = [r for r in strict(page.get_data(as_text=True))["requests"] if r["id"] == request["id"]]
    assert listed[0]["metadata"] == {"n": None, "big": None}
    one = client.get(f"/api/v1/requests/{request['id']}", headers=auth(user=boss))
    assert one.status_code == 200 and strict(one.get_data(as_text=True))["metadata"] == {"n": None, "big": None}
    run = client.get(f"/api/v1/runs/{run_id}", headers=auth(ADMIN_KEY))
    assert run.status_code == 200 and strict(run.get_data(as_text=True))["id"] == run_id
    assert inbox(client, boss)["requests"]
