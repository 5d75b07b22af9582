"""Out of office on the real stack: while ann is away, bob (her delegate) is offered her requests and decides them
``acting_for`` her (inbox, run detail, audit); the self-approval rule holds for both; one hop only; an absence
that has not begun, or has ended, offers nothing."""

from __future__ import annotations

from plugin.store.events import STREAM, parse_entry
from tests.absence_helpers import end_absence, set_absence
from tests.conftest import auth
from tests.requests_helpers import act, finished, inbox, inbox_ids, pending_requests, person, run_detail, start_probe


def offered(client, user: str) -> dict[str, str]:
    """Request id -> ``offered_for`` ('' for one's own) in the user's pending inbox."""
    return {r["id"]: r.get("offered_for", "") for r in inbox(client, user, limit=50)["requests"]}


def test_the_delegate_is_offered_the_request_and_decides_it_for_the_absent_person(client):
    ann, bob, req = person("ann"), person("bob"), person("req")
    run_id = start_probe(client, req, [{"name": "Buy a laptop", "users": [ann]}])
    [request] = pending_requests(client, run_id)
    rid = request["id"]
    assert rid not in offered(client, bob)
    assert act(client, rid, bob, resolution="Approve").status_code == 404, "not bob's before the absence"

    set_absence(client, ann, bob)
    assert offered(client, bob)[rid] == ann, "listed in bob's inbox, marked for ann"
    assert offered(client, ann)[rid] == "", "still in ann's own inbox, unmarked"
    one = client.get(f"/api/v1/requests/{rid}", headers=auth(user=bob))
    assert one.status_code == 200 and one.json["offered_for"] == ann

    decided = act(client, rid, bob, resolution="Approve", comment="ann is away")
    assert decided.status_code == 200, decided.json
    [decision] = decided.json["decisions"]
    assert decision["actor"] == bob and decision["acting_for"] == ann and decided.json["status"] == "resolved"
    again = act(client, rid, bob, resolution="Approve", comment="ann is away")  # a host retrying: same answer
    assert again.status_code == 200 and len(again.json["decisions"]) == 1, again.json

    detail = finished(client, run_id)
    assert detail["output"]["outcomes"][0]["decided_by"] == [bob]
    assert detail["requests"][0]["decisions"][0]["acting_for"] == ann, "run detail shows it"
    [audit] = [e for e in run_detail(client, run_id)["audit"] if e["action"] == "decided"]
    assert audit["actor"] == bob and audit["details"]["acting_for"] == ann, "and the audit"
    resolved = inbox(client, ann, status="resolved", limit=50)["requests"]
    assert [r["decisions"][0]["acting_for"] for r in resolved if r["id"] == rid] == [ann], "ann's inbox shows it"
    assert rid not in offered(client, bob), "decided: no longer offered"


def test_an_absence_not_yet_begun_offers_nothing_and_ending_one_takes_the_offers_back(client):
    ann, bob = person("ann"), person("bob")
    run_id = start_probe(client, person("req"), [{"name": "Later", "users": [ann]}])
    [request] = pending_requests(client, run_id)
    rid = request["id"]
    set_absence(client, ann, bob, start=2, end=10)  # from the future: not active yet
    assert rid not in offered(client, bob)
    assert act(client, rid, bob, resolution="Approve").status_code == 404

    set_absence(client, ann, bob)  # now
    assert offered(client, bob)[rid] == ann
    end_absence(client, ann)
    assert rid not in offered(client, bob), "ending the absence takes the offer back"
    assert client.get(f"/api/v1/requests/{rid}", headers=auth(user=bob)).status_code == 404
    assert act(client, rid, bob, resolution="Approve").status_code == 404
    assert act(client, rid, ann, resolution="Reject").status_code == 200, "ann decides herself again"


def test_neither_the_delegate_nor_the_absent_person_may_decide_what_they_started(client):
    ann, bob = person("ann"), person("bob")
    set_absence(client, ann, bob)
    by_bob = start_probe(client, bob, [{"name": "Bob's own", "users": [ann]}])
    by_ann = start_probe(client, ann, [{"name": "Ann's own", "users": [ann, person("cy")]}])
    [bobs] = pending_requests(client, by_bob)
    [anns] = pending_requests(client, by_ann)
    listed = offered(client, bob)
    assert bobs["id"] not in listed and anns["id"] not in listed, "nothing bob could not decide is offered"
    for rid, words in ((bobs["id"], "you started yourself"), (anns["id"], "they started themselves")):
        refused = act(client, rid, bob, resolution="Approve")
        assert refused.status_code == 403 and words in refused.json["error"]["message"], refused.json
    allowed = start_probe(client, ann, [{"name": "Self-approval allowed", "users": [ann],
                                         "allow_self_approval": True}])
    [ok] = pending_requests(client, allowed)
    assert offered(client, bob)[ok["id"]] == ann
    assert act(client, ok["id"], bob, resolution="Approve").json["decisions"][0]["acting_for"] == ann


def test_delegation_stops_at_one_hop(client):
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    set_absence(client, ann, bob)  # ann -> bob
    set_absence(client, bob, cat)  # bob -> cat: cat gets bob's own requests, not ann's
    to_ann = start_probe(client, person("req"), [{"name": "For ann", "users": [ann]}])
    to_bob = start_probe(client, person("req"), [{"name": "For bob", "users": [bob]}])
    [for_ann] = pending_requests(client, to_ann)
    [for_bob] = pending_requests(client, to_bob)
    cats = offered(client, cat)
    assert cats.get(for_bob["id"]) == bob and for_ann["id"] not in cats
    assert act(client, for_ann["id"], cat, resolution="Approve").status_code == 404
    assert offered(client, bob)[for_ann["id"]] == ann, "bob, though away himself, is still ann's delegate"
    assert act(client, for_bob["id"], cat, resolution="Approve").json["decisions"][0]["acting_for"] == bob


def test_an_assignee_delegate_decides_as_themselves_and_per_query_absences_offer_only_those(client):
    ann, bob = person("ann"), person("bob")
    set_absence(client, ann, bob, queries=["approval_probe"])
    both = start_probe(client, person("req"), [{"name": "Both", "users": [ann, bob], "required_approvals": 2}])
    [request] = pending_requests(client, both)
    assert offered(client, bob)[request["id"]] == "", "bob's own request: not marked"
    mine = act(client, request["id"], bob, resolution="Approve")
    assert mine.status_code == 200 and mine.json["decisions"][0]["acting_for"] == ""
    assert mine.json["status"] == "pending", "one vote: bob does not also vote for ann"

    cat, dan = person("cat"), person("dan")
    set_absence(client, cat, dan, queries=["onboard_employee"])
    run_id = start_probe(client, person("req"), [{"name": "Other query", "users": [cat]}])
    [other] = pending_requests(client, run_id)
    assert other["id"] not in offered(client, dan), "the absence covers another query only"
    assert act(client, other["id"], dan, resolution="Approve").status_code == 404
    assert inbox_ids(client, cat) == [other["id"]]


def test_the_delegate_sees_the_absent_persons_request_events_while_the_absence_lasts(client, app):
    ann, bob = person("ann"), person("bob")
    stream = app.extensions["workflows"].inbox.events

    def audience(run_id: str) -> list[list[str]]:
        entries = stream.redis.xrevrange(STREAM, count=500)
        found = [parse_entry(i, f) for i, f in entries]
        return [e.users for e in found if e.data.get("run_id") == run_id and e.type.startswith("request.")]

    before = start_probe(client, person("req"), [{"name": "Before", "users": [ann]}])
    pending_requests(client, before)
    assert audience(before) and all(bob not in users for users in audience(before))
    set_absence(client, ann, bob)
    during = start_probe(client, person("req"), [{"name": "During", "users": [ann]}])
    [request] = pending_requests(client, during)
    assert audience(during) and all(bob in users for users in audience(during)), "live updates reach bob"
    end_absence(client, ann)
    assert act(client, request["id"], ann, resolution="Approve").status_code == 200
    assert bob not in audience(during)[0], "the decision after the absence ended: not bob's"


def test_a_delegates_bulk_decision_is_made_for_the_absent_person_where_it_is_theirs(client):
    ann, bob = person("ann"), person("bob")
    set_absence(client, ann, bob)
    hers = start_probe(client, person("req"), [{"name": "Hers", "users": [ann]}])
    his = start_probe(client, person("req"), [{"name": "His", "users": [bob]}])
    theirs = start_probe(client, person("req"), [{"name": "Someone else's", "users": [person("cy")]}])
    ids = [pending_requests(client, run)[0]["id"] for run in (hers, his, theirs)]
    answer = client.post("/api/v1/requests/bulk-resolve", headers=auth(user=bob),
                         json={"ids": ids, "resolution": "Approve", "comment": "bulk"})
    assert answer.status_code == 200, answer.json
    by_id = {r["id"]: r for r in answer.json["results"]}
    assert by_id[ids[0]]["status"] == 200 and by_id[ids[0]]["request"]["decisions"][0]["acting_for"] == ann
    assert by_id[ids[1]]["status"] == 200 and by_id[ids[1]]["request"]["decisions"][0]["acting_for"] == ""
    assert by_id[ids[2]]["status"] == 404, "not offered to bob: as if it did not exist"
