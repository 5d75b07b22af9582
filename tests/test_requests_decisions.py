"""Deciding requests: quorum, groups, who may decide, forms, and 50 people pressing the button at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import (
    act,
    finished,
    group,
    inbox_ids,
    pending_requests,
    person,
    run_detail,
    start_probe,
)
from tests.test_expense_flow import wait_for


def test_quorum_of_two_among_three_assignees(client):
    a, b, c = person("a"), person("b"), person("c")
    run_id = start_probe(client, person("req"), [{"name": "Two of three", "users": [a, b, c],
                                                  "required_approvals": 2}])
    [request] = pending_requests(client, run_id)
    rid = request["id"]

    first = act(client, rid, a, resolution="Approve", comment="yes")
    assert first.status_code == 200, first.json
    assert first.json["status"] == "pending" and len(first.json["decisions"]) == 1
    again = act(client, rid, a, resolution="Approve")  # a host retrying the same decision: safe
    assert again.status_code == 200, again.json
    assert again.json["status"] == "pending" and len(again.json["decisions"]) == 1
    changed = act(client, rid, a, resolution="Reject")
    assert changed.status_code == 409 and "already decided" in changed.json["error"]["message"]

    second = act(client, rid, b, resolution="Approve")
    assert second.status_code == 200 and second.json["status"] == "resolved"
    late = act(client, rid, c, resolution="Approve")
    assert late.status_code == 409
    assert late.json["error"]["details"]["decided_by"] == b
    retried = act(client, rid, b, resolution="Approve")  # the deciding decision, retried: 200 as decided
    assert retried.status_code == 200 and retried.json["status"] == "resolved", retried.json
    assert [d["actor"] for d in retried.json["decisions"]] == [a, b]
    assert act(client, rid, b, resolution="Reject").status_code == 409

    outcome = finished(client, run_id)["output"]["outcomes"][0]
    assert outcome["resolution"] == "Approve" and sorted(outcome["decided_by"]) == sorted([a, b])


def test_a_rejection_ends_a_quorum_at_once(client):
    a, b = person("a"), person("b")
    run_id = start_probe(client, person("req"), [{"name": "Quorum", "users": [a, b], "required_approvals": 2}])
    [request] = pending_requests(client, run_id)
    assert act(client, request["id"], a, resolution="Reject").json["status"] == "resolved"
    assert finished(client, run_id)["output"]["outcomes"][0]["resolution"] == "Reject"


def test_group_request_first_decision_wins_and_the_second_learns_who(client):
    team = group()
    run_id = start_probe(client, person("req"), [{"name": "Group", "groups": [team]}])
    [request] = pending_requests(client, run_id)
    x, y = person("x"), person("y")
    assert request["id"] in wait_for(lambda: inbox_ids(client, x, team))
    assert act(client, request["id"], x, groups=team, resolution="Approve").status_code == 200
    second = act(client, request["id"], y, groups=team, resolution="Reject")
    assert second.status_code == 409
    assert x in second.json["error"]["message"] and "resolved" in second.json["error"]["message"]
    assert finished(client, run_id)["output"]["outcomes"][0]["decided_by"] == [x]


def test_who_may_decide(client):
    requester, assignee, stranger = person("req"), person("asg"), person("out")
    run_id = start_probe(client, requester, [{"name": "Mine", "users": [assignee, requester]}])
    [request] = pending_requests(client, run_id)
    rid = request["id"]

    hidden = act(client, rid, stranger, resolution="Approve")
    assert hidden.status_code == 404, "a stranger must not learn the request exists"
    assert act(client, f"{run_id}:99", assignee, resolution="Approve").status_code == 404
    assert act(client, "no-such-thing", assignee, resolution="Approve").status_code == 404
    own = act(client, rid, requester, resolution="Approve")
    assert own.status_code == 403 and "started yourself" in own.json["error"]["message"]
    bad = act(client, rid, assignee, resolution="Maybe")
    assert bad.status_code == 422 and bad.json["error"]["details"]["allowed"] == ["Approve", "Reject"]
    assert act(client, rid, assignee, resolution="Approve").status_code == 200
    assert [d["actor"] for d in run_detail(client, run_id)["decisions"]] == [assignee]


def test_requester_who_may_see_but_is_not_assignee_gets_403(client):
    requester = person("req")
    run_id = start_probe(client, requester, [{"name": "Theirs", "users": [person("asg")]}])
    [request] = pending_requests(client, run_id)
    response = act(client, request["id"], requester, resolution="Approve")
    assert response.status_code == 403 and "not an assignee" in response.json["error"]["message"]


def test_self_approval_when_allowed(client):
    requester = person("req")
    run_id = start_probe(client, requester, [{"name": "Self", "users": [requester], "allow_self_approval": True}])
    [request] = pending_requests(client, run_id)
    assert act(client, request["id"], requester, resolution="Approve").status_code == 200


def test_form_is_validated_and_its_data_reaches_the_workflow(client):
    boss = person("boss")
    form = [{"name": "cost_center", "type": "select", "options": ["R&D", "Sales"]},
            {"name": "budget", "type": "number"}, {"name": "note", "required": False}]
    run_id = start_probe(client, person("req"), [{"name": "Form", "users": [boss], "form": form}])
    [request] = pending_requests(client, run_id)
    assert [f["name"] for f in request["form"]] == ["cost_center", "budget", "note"]

    bad = act(client, request["id"], boss, resolution="Approve", payload={"cost_center": "HR", "budget": "lots"})
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]["fields"]) == {"payload.cost_center", "payload.budget"}
    missing = act(client, request["id"], boss, resolution="Approve", payload={})
    assert missing.status_code == 422 and "payload.budget" in missing.json["error"]["message"]

    good = act(client, request["id"], boss, resolution="Approve", payload={"cost_center": "R&D", "budget": 1200})
    assert good.status_code == 200, good.json
    outcome = finished(client, run_id)["output"]["outcomes"][0]
    assert outcome["payload"] == {"cost_center": "R&D", "budget": 1200}


def test_resolve_body_mistakes_are_clear(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Body", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    rid = request["id"]
    missing = act(client, rid, boss)
    assert missing.status_code == 422 and "resolution" in missing.json["error"]["details"]["fields"]
    typo = act(client, rid, boss, resolution="Approve", coment="typo")
    assert typo.status_code == 422 and "coment" in typo.json["error"]["details"]["fields"]
    not_json = client.post(f"/api/v1/requests/{rid}/resolve", headers=auth(user=boss), data="Approve",
                           content_type="text/plain")
    assert not_json.status_code == 400
    no_user = client.post(f"/api/v1/requests/{rid}/resolve", headers=auth(), json={"resolution": "Approve"})
    assert no_user.status_code == 400 and "X-Workflows-User" in no_user.json["error"]["message"]
    no_key = client.post(f"/api/v1/requests/{rid}/resolve", json={"resolution": "Approve"})
    assert no_key.status_code == 401
    wrong_key = client.post(f"/api/v1/requests/{rid}/resolve", headers=auth("nope-nope-nope-nope"),
                            json={"resolution": "Approve"})
    assert wrong_key.status_code == 401
    assert run_detail(client, run_id)["decisions"] == [], "refused calls leave nothing behind"


def test_fifty_concurrent_resolves_exactly_one_wins(client, app):
    team = group()
    run_id = start_probe(client, person("req"), [{"name": "Race", "groups": [team]}])
    [request] = pending_requests(client, run_id)
    people = [person(f"r{i}") for i in range(50)]

    def press(who: str) -> int:
        with app.test_client() as own:
            return act(own, request["id"], who, groups=team, resolution="Approve").status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(press, people))
    assert codes.count(200) == 1, codes
    assert codes.count(409) == 49, codes
    run = finished(client, run_id)
    assert len(run["decisions"]) == 1
    assert len([a for a in run["audit"] if a["action"] == "decided"]) == 1


def test_parallel_requests_in_one_run(client):
    a, b = person("a"), person("b")
    run_id = start_probe(client, person("req"), [{"name": "Legal", "users": [a]}, {"name": "Finance", "users": [b]}],
                         parallel=True)
    requests = pending_requests(client, run_id, 2)
    by_name = {r["name"]: r["id"] for r in requests}
    assert run_detail(client, run_id)["status"] == "waiting"
    assert act(client, by_name["Finance"], b, resolution="Reject").status_code == 200
    assert run_detail(client, run_id)["status"] == "waiting"
    assert act(client, by_name["Legal"], a, resolution="Approve").status_code == 200
    outcomes = finished(client, run_id)["output"]["outcomes"]
    assert [(o["name"], o["resolution"]) for o in outcomes] == [("Legal", "Approve"), ("Finance", "Reject")]


def test_requests_in_a_loop_open_one_after_another(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": f"Step {i}", "users": [boss]} for i in range(3)])
    for i in range(3):
        [request] = pending_requests(client, run_id)
        assert request["name"] == f"Step {i}"
        assert act(client, request["id"], boss, resolution="Approve").status_code == 200
    assert [o["resolution"] for o in finished(client, run_id)["output"]["outcomes"]] == ["Approve"] * 3


def test_admin_sees_and_cancels_a_request(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Cancel me", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    refused = act(client, request["id"], boss, action="cancel")
    assert refused.status_code == 403
    typo = act(client, request["id"], "admin@example.com", action="cancel", key=ADMIN_KEY, reason="dup")
    assert typo.status_code == 422 and "reason" in typo.json["error"]["details"]["fields"]
    cancelled = act(client, request["id"], "admin@example.com", action="cancel", key=ADMIN_KEY, comment="dup")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert act(client, request["id"], boss, resolution="Approve").status_code == 409
    assert finished(client, run_id)["output"]["outcomes"][0]["error"] == "RequestCancelled"
    assert request["id"] in wait_for(lambda: inbox_ids(client, boss, status="cancelled"))
