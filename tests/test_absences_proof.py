"""Only the API can claim ``acting_for``: with a decision secret, an update sent straight to Temporal that claims
to act for an absent assignee is refused (also one carrying the MAC of the same decision without the claim);
and the delegates of absent assignees get the notifications, with approval links that decide for the absent
person only while the absence lasts."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.client import WorkflowUpdateFailedError

from plugin.engine.update_auth import update_mac
from plugin.models import Identity, ResolveInput
from tests.absence_helpers import end_absence, set_absence
from tests.notification_helpers import links_received, receive_notifications, received
from tests.requests_helpers import act, pending_requests, person, run_detail, start_probe
from tests.test_update_auth import SECRET, accepted_updates, send_directly, signed_app, signed_settings

__all__ = ["signed_app", "signed_settings"]  # module fixtures shared with test_update_auth


def test_acting_for_claimed_outside_the_api_is_refused(signed_app, signed_settings):
    client = signed_app.test_client()
    ann, bob = person("ann"), person("bob")
    run_id = start_probe(client, person("req"), [{"name": "Signed", "users": [ann]}])
    [request] = pending_requests(client, run_id)
    plain = ResolveInput(request_id=request["id"], resolution="Approve", identity=Identity(user=bob))
    claim = dataclasses.replace(plain, acting_for=ann)
    for arg in (claim, dataclasses.replace(claim, mac=update_mac(SECRET, "resolve_request", plain))):
        refused = send_directly(signed_settings, run_id, "resolve_request", arg)
        assert isinstance(refused, WorkflowUpdateFailedError), refused
        assert "did not come through" in str(refused.cause)
    assert accepted_updates(signed_settings, run_id) == 0
    assert act(client, request["id"], bob, resolution="Approve").status_code == 404, "no absence: not bob's"

    set_absence(client, ann, bob)
    through_api = act(client, request["id"], bob, resolution="Approve")
    assert through_api.status_code == 200, through_api.json
    assert through_api.json["decisions"][0]["acting_for"] == ann
    assert run_detail(client, run_id)["requests"][0]["decisions"][0]["acting_for"] == ann


@pytest.fixture(scope="module")
def notified(app):
    yield from receive_notifications(app)


def test_the_delegate_is_notified_with_links_that_decide_for_the_absent_person(client, notified):
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    set_absence(client, ann, bob)
    run_id = start_probe(client, person("req"), [{"name": "Notify", "users": [ann, cat], "required_approvals": 2}])
    [request] = pending_requests(client, run_id)
    links = links_received(notified, request["id"])
    [body] = received(notified, request["id"])
    assert body["delegates"] == {bob: ann} and bob in body["users"] and set(links) == {ann, cat, bob}

    path = "/approve/" + links[bob]["Approve"].split("/approve/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and f"as {bob} for {ann}" in page.get_data(as_text=True)
    decided = client.post(path, json={"comment": "for ann"}, headers={"Accept": "application/json"})
    assert decided.status_code == 200, decided.json
    assert [(d["actor"], d["acting_for"], d["via"]) for d in decided.json["decisions"]] == [(bob, ann, "link")]


def test_a_delegates_link_stops_working_when_the_absence_ends(client, notified):
    ann, bob = person("ann"), person("bob")
    set_absence(client, ann, bob)
    run_id = start_probe(client, person("req"), [{"name": "Ended", "users": [ann]}])
    [request] = pending_requests(client, run_id)
    link = links_received(notified, request["id"])[bob]["Approve"]
    end_absence(client, ann)
    path = "/approve/" + link.split("/approve/", 1)[1]
    refused = client.post(path, json={}, headers={"Accept": "application/json"})
    assert refused.status_code == 409 and "no longer stand in" in refused.json["error"]["message"]
    unwanted = start_probe(client, person("req"), [{"name": "After", "users": [ann]}])
    [after] = pending_requests(client, unwanted)
    assert bob not in links_received(notified, after["id"]), "no absence: no links for bob"
