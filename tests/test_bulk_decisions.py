"""Bulk decisions on the real stack: one result per id with the status it would have had alone, each decision its
own update and audit entry, bad bodies refused in the one error shape, repeats idempotent."""

from __future__ import annotations

import pytest

from tests.conftest import auth
from tests.identity_helpers import create_key
from tests.requests_helpers import act, inbox_ids, pending_requests, person, run_detail, start_probe
from tests.runs_helpers import error_of

BULK = "/api/v1/requests/bulk-resolve"


def bulk(client, user: str, key: str | None = None, headers: dict | None = None, **body):
    base = auth(key, user=user) if key else auth(user=user)
    return client.post(BULK, headers={**base, **(headers or {})}, json=body)


def waiting(client, assignees: list[str], requester: str | None = None, **options) -> str:
    """One run waiting on one request to ``assignees``; the request id."""
    run_id = start_probe(client, requester or person("req"), [{"name": "Bulk", "users": assignees, **options}])
    return pending_requests(client, run_id)[0]["id"]


def test_mixed_results_each_with_the_status_it_would_have_had_alone(client):
    me, bob = person("me"), person("bob")
    mine = [waiting(client, [me]) for _ in range(3)]
    taken = waiting(client, [me, bob])
    assert act(client, taken, bob, resolution="Approve").status_code == 200
    started_by_me = waiting(client, [bob], requester=me)  # I may see it (I started it) but not decide it
    with_form = waiting(client, [me], form=[{"name": "cost_center", "label": "Cost center"}])
    nobody_knows = "approval_probe-nothing:0123456789ab-1"
    ids = [*mine, taken, started_by_me, with_form, nobody_knows, mine[0]]

    answer = bulk(client, me, ids=ids, resolution="Approve", comment="all fine")
    assert answer.status_code == 200, answer.json
    results = {r["id"]: r for r in answer.json["results"]}
    assert [r["id"] for r in answer.json["results"]] == ids[:-1]  # each distinct id once, in the order given
    assert answer.json["duplicates"] == 1
    for rid in mine:
        assert results[rid]["status"] == 200 and results[rid]["outcome"] == "decided"
        assert results[rid]["request"]["status"] == "resolved" and results[rid]["error"] is None
    assert results[taken]["status"] == 409 and results[taken]["error"]["details"]["decided_by"] == bob
    assert results[started_by_me]["status"] == 403 and results[started_by_me]["error"]["code"] == "forbidden"
    assert results[with_form]["status"] == 422
    assert "payload.cost_center" in results[with_form]["error"]["details"]["fields"]
    assert results[nobody_knows]["status"] == 404
    assert answer.json["counts"] == {"200": 3, "409": 1, "403": 1, "422": 1, "404": 1}

    # each decision is its own update with its own audit entry, and the inbox already shows them decided
    for rid in mine:
        audit = run_detail(client, rid.rpartition(":")[0])["audit"]
        decided = [a for a in audit if a["action"] == "decided" and a["request_id"] == rid]
        assert len(decided) == 1 and decided[0]["actor"] == me and decided[0]["comment"] == "all fine"
        assert decided[0]["details"]["via"] == "headers"
    pending_now = inbox_ids(client, me)
    assert not set(mine) & set(pending_now) and with_form in pending_now


def test_a_repeat_reports_what_happened_and_records_nothing_twice(client):
    me = person("me")
    ids = [waiting(client, [me]) for _ in range(2)]
    first = bulk(client, me, ids=ids, resolution="Reject")
    assert [r["outcome"] for r in first.json["results"]] == ["decided", "decided"]
    again = bulk(client, me, ids=ids, resolution="Reject")
    assert again.status_code == 200 and again.json["repeated"] == 2
    assert [(r["status"], r["outcome"]) for r in again.json["results"]] == [(200, "repeated")] * 2
    for rid in ids:
        assert len(again.json["results"][ids.index(rid)]["request"]["decisions"]) == 1
        audit = run_detail(client, rid.rpartition(":")[0])["audit"]
        assert sum(a["action"] == "decided" for a in audit) == 1
    changed = bulk(client, me, ids=ids, resolution="Approve")  # another decision on decided requests: 409s
    assert [r["status"] for r in changed.json["results"]] == [409, 409]


def test_an_idempotency_key_answers_the_first_answer_and_refuses_another_body(client):
    me = person("me")
    ids = [waiting(client, [me]) for _ in range(2)]
    key = {"Idempotency-Key": f"bulk-{me}"}
    first = bulk(client, me, headers=key, ids=ids, resolution="Approve")
    assert first.status_code == 200 and first.json["counts"] == {"200": 2}
    again = bulk(client, me, headers=key, ids=ids, resolution="Approve")
    assert again.status_code == 200 and again.json == first.json  # the same answer, "decided" and all
    other = bulk(client, me, headers=key, ids=ids, resolution="Reject")
    assert other.status_code == 422 and "Idempotency-Key" in error_of(other)["details"]["fields"]
    someone_else = bulk(client, person("eve"), headers=key, ids=ids, resolution="Approve")  # own key space
    assert [r["status"] for r in someone_else.json["results"]] == [404, 404]


def test_an_unknown_resolution_is_refused_per_request(client):
    me = person("me")
    ids = [waiting(client, [me]) for _ in range(2)]
    answer = bulk(client, me, ids=ids, resolution="Maybe")
    assert answer.status_code == 200
    for result in answer.json["results"]:
        assert result["status"] == 422 and result["error"]["details"]["allowed"] == ["Approve", "Reject"]
    assert set(ids) <= set(inbox_ids(client, me))


@pytest.mark.parametrize("body, field", [
    ({"ids": [f"r{i}" for i in range(101)], "resolution": "Approve"}, "ids"),
    ({"ids": [], "resolution": "Approve"}, "ids"),
    ({"resolution": "Approve"}, "ids"),
    ({"ids": ["a"]}, "resolution"),
    ({"ids": ["a"], "resolution": ""}, "resolution"),
    ({"ids": [3], "resolution": "Approve"}, "ids.0"),
    ({"ids": ["a"], "resolution": "Approve", "payload": {}}, "payload"),
])
def test_bad_bodies_are_422_in_the_one_error_shape(client, body, field):
    answer = client.post(BULK, headers=auth(user=person("me")), json=body)
    assert answer.status_code == 422, answer.json
    error = error_of(answer)
    assert error["code"] == "validation_failed" and field in error["details"]["fields"]
    assert error["message"]


def test_101_ids_says_how_many_are_allowed(client):
    answer = client.post(BULK, headers=auth(user=person("me")),
                         json={"ids": [f"r{i}" for i in range(101)], "resolution": "Approve"})
    assert "between 1 and 100" in " ".join(error_of(answer)["details"]["fields"]["ids"])


def test_a_key_that_may_not_decide_is_refused_whole(client):
    reader = create_key(client, name="bulk reader", identity={"schemes": ["headers"], "headers_source": "server"},
                        capabilities=["read"])
    me = person("me")
    rid = waiting(client, [me])
    answer = bulk(client, me, key=reader["secret"], ids=[rid], resolution="Approve")
    assert answer.status_code == 403 and error_of(answer)["details"] == {"capability": "decide"}
    no_person = client.post(BULK, headers=auth(), json={"ids": [rid], "resolution": "Approve"})
    assert no_person.status_code == 400 and "user" in error_of(no_person)["message"].lower()
    assert rid in inbox_ids(client, me)
