"""Out of office through the API: setting, reading and ending an absence, who may do it for whom, and every bad
input answered 422/403 in the one error shape. Real Redis (and the real app)."""

from __future__ import annotations

import pytest

from tests.absence_helpers import at, end_absence, set_absence
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import person


def test_a_person_sets_reads_and_ends_their_absence(client):
    ann, bob = person("ann"), person("bob")
    none = client.get("/api/v1/absences/me", headers=auth(user=ann))
    assert none.status_code == 200 and none.json["delegate"] is None and none.json["active"] is False
    made = set_absence(client, ann, bob.upper(), note="back Monday", queries=["approval_probe"])
    assert made["user"] == ann and made["delegate"] == bob and made["active"] is True
    assert made["queries"] == ["approval_probe"] and made["note"] == "back Monday" and made["set_by"] == ann
    read = client.get("/api/v1/absences/me", headers=auth(user=ann))
    assert read.status_code == 200 and read.json == made
    coming = set_absence(client, ann, bob, start=48, end=72)  # replaces the first; not active yet
    assert coming["active"] is False
    end_absence(client, ann)
    gone = client.get("/api/v1/absences/me", headers=auth(user=ann))
    assert gone.status_code == 200 and gone.json["delegate"] is None and gone.json["from"] is None
    assert client.delete("/api/v1/absences/me", headers=auth(user=ann)).status_code == 204, "ending twice is fine"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"from": at(5), "to": at(2)}, "to", "end after it starts"),
    ({"from": at(2), "to": at(2)}, "to", "end after it starts"),
    ({"from": at(-5), "to": at(-2)}, "to", "already ended"),
    ({"delegate": "SELF"}, "delegate", "cannot stand in for yourself"),
    ({"queries": ["approval_probe", "no_such_query"]}, "queries", "Unknown query: no_such_query"),
    ({"from": "next tuesday"}, "from", "Not a valid datetime"),
    ({"to": "2026-13-40T10:00:00+00:00"}, "to", "Not a valid datetime"),
    ({"from": "2026-12-21T08:00:00"}, "from", "aware"),
    ({"delegate": "not an email"}, "delegate", "email"),
    ({"delegate": None}, "delegate", "null"),
    ({"holiday": True}, "holiday", "Unknown field"),
])
def test_bad_absences_are_refused_naming_the_field(client, change, field, words):
    ann = person("ann")
    body = {"from": at(-1), "to": at(24), "delegate": person("bob"), **change}
    if body["delegate"] == "SELF":
        body["delegate"] = ann
    answer = client.put("/api/v1/absences/me", headers=auth(user=ann), json=body)
    assert answer.status_code == 422, answer.json
    error = answer.json["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == "validation_failed"
    assert words.lower() in f'{error["details"]["fields"][field]} {error["message"]}'.lower(), error
    assert client.get("/api/v1/absences/me", headers=auth(user=ann)).json["delegate"] is None, "nothing stored"


def test_a_delegate_away_in_that_period_is_refused_one_hop_only(client):
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    set_absence(client, bob, cat, start=10, end=30)  # bob is away from +10 h to +30 h
    refused = client.put("/api/v1/absences/me", headers=auth(user=ann),
                         json={"from": at(20), "to": at(40), "delegate": bob})
    assert refused.status_code == 422
    assert "away themselves" in refused.json["error"]["message"]
    assert set(refused.json["error"]["details"]["delegate_away"]) == {"from", "to"}
    assert refused.json["error"]["details"]["fields"]["delegate"]
    set_absence(client, ann, bob, start=30, end=40)  # right after bob is back: fine
    # Two people cannot name each other for overlapping times, in either order.
    back = client.put("/api/v1/absences/me", headers=auth(user=bob),
                      json={"from": at(35), "to": at(50), "delegate": ann})
    assert back.status_code == 422 and "away themselves" in back.json["error"]["message"]


def test_only_admins_set_or_list_someone_elses_absence(client):
    ann, bob, eve = person("ann"), person("bob"), person("eve")
    body = {"from": at(-1), "to": at(5), "delegate": eve}
    for method in ("put", "get", "delete"):
        refused = getattr(client, method)(f"/api/v1/absences/{ann}", headers=auth(user=eve),
                                          **({"json": body} if method == "put" else {}))
        assert refused.status_code == 403, (method, refused.json)
        assert refused.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/absences", headers=auth(user=eve)).status_code == 403
    own = client.put(f"/api/v1/absences/{eve}", headers=auth(user=eve), json={**body, "delegate": bob})
    assert own.status_code == 200, "one's own absence by name is fine"

    by_admin = client.put(f"/api/v1/absences/{ann}", headers=auth(ADMIN_KEY), json={**body, "delegate": bob})
    assert by_admin.status_code == 200 and by_admin.json["set_by"].startswith("key:")
    assert client.get(f"/api/v1/absences/{ann}", headers=auth(ADMIN_KEY)).json["delegate"] == bob
    listed = client.get("/api/v1/absences", headers=auth(ADMIN_KEY))
    assert listed.status_code == 200
    assert {ann, eve} <= {a["user"] for a in listed.json["absences"]}
    assert client.put("/api/v1/absences/%20", headers=auth(ADMIN_KEY), json=body).status_code == 422
    assert client.delete(f"/api/v1/absences/{ann}", headers=auth(ADMIN_KEY)).status_code == 204
    assert client.get(f"/api/v1/absences/{ann}", headers=auth(ADMIN_KEY)).json["delegate"] is None


def test_setting_an_absence_needs_a_named_person(client):
    answer = client.put("/api/v1/absences/me", headers=auth(),
                        json={"from": at(-1), "to": at(5), "delegate": person("bob")})
    assert answer.status_code == 400 and answer.json["error"]["details"]["header"] == "X-Workflows-User"
