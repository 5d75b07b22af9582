"""Conditional GETs for what panels poll: runs, the inbox and one request carry an ETag; If-None-Match
answers 304 without a body while nothing changed, and 200 with a new ETag once something did."""

from __future__ import annotations

import json

import redis

from plugin.api.runs.schemas import RunSchema
from plugin.store.snapshots import RunSnapshots
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.runs_helpers import ended, trigger, user
from tests.test_expense_flow import wait_for


def _get(client, path: str, headers: dict[str, str], etag: str | None = None):
    return client.get(path, headers={**headers, **({"If-None-Match": etag} if etag else {})})


def test_a_run_answers_304_while_unchanged_and_200_with_a_new_etag_after_a_decision(client):
    requester, boss = person("req"), person("boss")
    run_id = start_probe(client, requester, [{"name": "Sign off", "users": [boss]}])
    request_id = pending_requests(client, run_id)[0]["id"]
    path, headers = f"/api/v1/runs/{run_id}", auth(user=requester)
    first = _get(client, path, headers)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag and first.headers["Cache-Control"] == "private, no-cache"
    again = _get(client, path, headers, etag)
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert act(client, request_id, boss, resolution="Approve").status_code == 200
    changed = _get(client, path, headers, etag)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json["requests"][0]["status"] == "resolved"


def test_an_etag_does_not_show_a_run_to_someone_who_may_not_see_it(client):
    owner, stranger = user(), user("stranger")
    run_id = trigger(client, owner, {"value": "private"})["run_id"]
    etag = _get(client, f"/api/v1/runs/{run_id}", auth(user=owner)).headers["ETag"]
    refused = _get(client, f"/api/v1/runs/{run_id}", auth(user=stranger), etag)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"


def test_the_encoded_answer_is_what_the_schema_makes_of_the_composed_run(app, client, settings):
    who = user()
    run_id = trigger(client, who, {"value": "encoded"})["run_id"]
    ended(client, run_id, who)
    cached = [_get(client, f"/api/v1/runs/{run_id}", auth(ADMIN_KEY)) for _ in range(2)]
    assert cached[0].data == cached[1].data and cached[0].headers["ETag"] == cached[1].headers["ETag"]
    with app.test_request_context():
        composed = RunSchema().dump(app.extensions["workflows"].runs.read(run_id))
    assert json.loads(cached[1].data) == composed
    # answered from Temporal (no snapshot) the run has an ETag too, which the refreshed snapshot then keeps
    redis.Redis.from_url(settings.redis_url).delete(*RunSnapshots.keys(run_id))
    from_temporal = _get(client, f"/api/v1/runs/{run_id}", auth(ADMIN_KEY))
    assert from_temporal.status_code == 200 and from_temporal.headers["ETag"]
    assert RunSnapshots(redis.Redis.from_url(settings.redis_url)).get(run_id) is not None
    assert json.loads(from_temporal.data)["status"] == composed["status"] == "completed"


def test_the_inbox_answers_304_until_a_request_arrives(client):
    boss = person("boss")
    start_probe(client, person("req"), [{"name": "Sign off", "users": [boss]}])
    first = wait_for(lambda: (r := _get(client, "/api/v1/requests", auth(user=boss))).json["requests"] and r)
    etag = first.headers["ETag"]
    assert _get(client, "/api/v1/requests", auth(user=boss), etag).status_code == 304
    start_probe(client, person("req"), [{"name": "Sign off", "users": [boss]}])

    def grown():
        response = _get(client, "/api/v1/requests", auth(user=boss), etag)
        return response if response.status_code == 200 and len(response.json["requests"]) == 2 else None
    assert wait_for(grown).headers["ETag"] != etag


def test_one_request_answers_304_while_unchanged(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Sign off", "users": [boss]}])
    request_id = pending_requests(client, run_id)[0]["id"]
    path = f"/api/v1/requests/{request_id}"
    first = _get(client, path, auth(user=boss))
    assert first.status_code == 200 and first.json["id"] == request_id
    assert _get(client, path, auth(user=boss), first.headers["ETag"]).status_code == 304
    assert _get(client, path, auth(user=person("other")), first.headers["ETag"]).status_code == 404
