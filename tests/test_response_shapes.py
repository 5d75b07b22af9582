"""One request schema and one JSON encoding everywhere a request is answered."""

from __future__ import annotations

import dataclasses

from plugin.models import HumanRequest
from tests.conftest import auth
from tests.requests_helpers import act, inbox, pending_requests, person, run_detail, start_probe
from tests.test_expense_flow import wait_for

FIELDS = {f.name for f in dataclasses.fields(HumanRequest)}


def test_a_request_has_the_same_fields_in_the_inbox_alone_in_its_run_and_after_a_decision(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Shapes", "users": [boss], "required_approvals": 1,
                                                   "escalate_after_seconds": 3600, "escalate_to_users": [boss]}])
    [in_run] = pending_requests(client, run_id)
    [listed] = wait_for(lambda: inbox(client, boss)["requests"])
    alone = client.get(f"/api/v1/requests/{listed['id']}", headers=auth(user=boss)).json
    decided = act(client, listed["id"], boss, resolution="Approve").json
    for shape in (in_run, listed, alone, decided):
        assert set(shape) == FIELDS, set(shape) ^ FIELDS
    assert in_run["rejecting_resolutions"] == listed["rejecting_resolutions"] == ["Reject"]
    assert decided["escalate_to_users"] == [boss] and decided["allow_self_approval"] is False
    assert run_detail(client, run_id)["requests"][0].keys() == FIELDS


def test_every_json_answer_is_encoded_compactly(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Compact", "users": [boss]}])
    pending_requests(client, run_id)
    for path in ("/api/v1/requests", f"/api/v1/runs/{run_id}"):
        raw = wait_for(lambda p=path: (r := client.get(p, headers=auth(user=boss))).status_code == 200 and r.data)
        assert b'": ' not in raw and b', "' not in raw, raw[:200]
