"""The events edge (``workflows-plugin events``) as a real process on the real stack: who sees what, resume by
``Last-Event-ID``, stream tokens from the API, caps per user and per key, and streams ending with their key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from plugin.store.events import EventStream, id_key
from tests.conftest import ADMIN_KEY, auth
from tests.edge_helpers import EdgeStream, open_edge_stream, serve_edge, start_edge
from tests.identity_helpers import create_key
from tests.requests_helpers import act, finished, group, pending_requests, person, start_probe
from tests.test_expense_flow import wait_for

PER_USER, PER_KEY = 2, 4


@pytest.fixture(scope="module")
def edge(settings, app, tmp_path_factory) -> Iterator[str]:
    yield from serve_edge(settings, tmp_path_factory.mktemp("edge"), max_per_user=PER_USER, max_per_key=PER_KEY,
                          heartbeat=0.3, key_check=0.5)


@pytest.fixture
def stream(edge) -> Iterator:
    opened: list[EdgeStream] = []

    def open_stream(headers: dict[str, str] | None = None, **params) -> EdgeStream:
        opened.append(open_edge_stream(edge, headers, **params))
        return opened[-1]

    yield open_stream
    for each in opened:
        each.close()


def _about(run_id: str):
    return lambda e: e["data"].get("run_id") == run_id


def _key_headers(secret: str, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "X-Workflows-User": user}


def test_each_user_sees_only_the_runs_and_requests_they_may_see(client, stream):
    requester, approver, outsider = person("req"), person("boss"), person("out")
    approvers, others = group(), group()
    as_requester = stream(auth(user=requester))
    as_approver = stream(auth(user=approver, groups=approvers))
    as_outsider = stream(auth(user=outsider, groups=others))
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    request = pending_requests(client, run_id)[0]

    opened = as_approver.until(lambda e: e["type"] == "request.opened" and _about(run_id)(e))
    assert opened[-1]["data"]["request_id"] == request["id"]
    assert act(client, request["id"], approver, groups=approvers, resolution="Approve").status_code == 200
    finished(client, run_id)
    as_requester.until(lambda e: e["type"] == "run.updated" and _about(run_id)(e)
                       and e["data"]["status"] == "completed")
    as_approver.until(lambda e: e["type"] == "request.decided" and _about(run_id)(e))
    wait_for(lambda: "heartbeat" in as_outsider.comments, timeout=5)
    assert not [e for e in as_outsider.drain() if _about(run_id)(e)]


def test_a_resume_by_last_event_id_loses_nothing_and_repeats_nothing(client, stream):
    requester, approver, approvers = person("req"), person("boss"), group()
    first = stream(auth(user=requester))
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    last_id = first.until(lambda e: e["type"] == "request.opened" and _about(run_id)(e))[-1]["id"]
    first.close()

    request = pending_requests(client, run_id)[0]
    assert act(client, request["id"], approver, groups=approvers, resolution="Approve").status_code == 200
    finished(client, run_id)
    resumed = stream({**auth(user=requester), "Last-Event-ID": last_id})
    after = resumed.until(lambda e: e["type"] == "run.updated" and _about(run_id)(e)
                          and e["data"]["status"] == "completed")
    assert [e["type"] for e in after if _about(run_id)(e) and e["type"].startswith("request.")] == \
        ["request.decided"]
    assert all(id_key(e["id"]) > id_key(last_id) for e in after)
    assert len({e["id"] for e in after}) == len(after)


def test_a_stream_token_from_the_api_opens_the_stream_on_the_edge(client, stream):
    requester, approvers = person("req"), group()
    answer = client.post("/api/v1/events/token", headers=auth(user=requester))
    assert answer.status_code == 200, answer.json
    on_edge = stream(token=answer.json["token"])
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    on_edge.until(lambda e: e["type"] == "request.opened" and _about(run_id)(e))


@pytest.mark.parametrize("params, headers, status, words", [
    ({"token": "not-a-token"}, {}, 401, "stream token is not valid"),
    ({}, {}, 401, "Authorization: Bearer"),
    ({"last_event_id": "yesterday"}, auth(user="ann@example.com"), 400, "Last-Event-ID"),
    ({}, auth(), 400, "X-Workflows-User"),
    ({}, auth("wfp_app_guessed-key-000000"), 401, "not valid"),
])
def test_bad_stream_calls_are_refused_in_the_error_shape(edge, params, headers, status, words):
    response = requests.get(f"{edge}/api/v1/events", headers=headers, params=params, timeout=10)
    assert response.status_code == status
    assert words in response.json()["error"]["message"]
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_one_users_many_streams_do_not_shut_out_another(stream, edge):
    greedy, other = person("greedy"), person("other")
    held = [stream(auth(user=greedy)) for _ in range(PER_USER)]
    refused = requests.get(f"{edge}/api/v1/events", headers=auth(user=greedy), timeout=10)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "too_many_streams"
    assert refused.json()["error"]["details"]["scope"] == "user" and refused.headers["Retry-After"] == "10"
    stream(auth(user=other))  # another user of the same key still gets a stream
    held[0].close()  # a closed stream gives its slot back
    wait_for(lambda: requests.get(f"{edge}/api/v1/events", headers=auth(user=greedy), stream=True,
                                  timeout=10).status_code == 200, timeout=5)


def test_a_key_holds_at_most_its_cap_and_other_keys_go_on(client, stream, edge):
    crowded = create_key(client, name="crowded")["secret"]
    for _ in range(PER_KEY):
        stream(_key_headers(crowded, person("c")))
    refused = requests.get(f"{edge}/api/v1/events", headers=_key_headers(crowded, person("c")), timeout=10)
    assert refused.status_code == 429 and refused.json()["error"]["details"]["scope"] == "key"
    stream(auth(user=person("elsewhere")))


def test_a_revoked_key_ends_its_streams_and_sends_nothing_written_after(client, stream, app):
    created = create_key(client, name="soon-revoked")
    user = person("rev")
    by_headers = stream(_key_headers(created["secret"], user))
    token = client.post("/api/v1/events/token", headers=_key_headers(created["secret"], user)).json["token"]
    by_token = stream(token=token)
    wait_for(lambda: "connected" in by_headers.comments and "connected" in by_token.comments, timeout=5)

    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    EventStream(app.extensions["workflows"].redis).publish("run.updated", {"run_id": "after-revoke"}, [user], [])
    for each in (by_headers, by_token):
        closing = each.until(lambda e: e["type"] == "events.closed", timeout=5)
        assert "revoked" in closing[-1]["data"]["reason"]
        assert each.ended.wait(5)
        assert not [e for e in closing + each.drain() if e["data"].get("run_id") == "after-revoke"]


def test_an_expiring_key_ends_its_stream_and_its_token_never_outlives_it(client, stream):
    expires = datetime.now(UTC) + timedelta(seconds=4)
    created = create_key(client, name="short-lived", expires_at=expires.isoformat(timespec="seconds"))
    headers = _key_headers(created["secret"], person("exp"))
    answer = client.post("/api/v1/events/token", headers=headers)
    assert answer.status_code == 200 and answer.json["expires_in"] <= 4
    opened = stream(headers)
    started = time.monotonic()
    opened.until(lambda e: e["type"] == "events.closed", timeout=10)
    assert opened.ended.wait(5)
    assert time.monotonic() - started < 4 + 3  # within a few seconds of the expiry


def test_failed_authentications_on_the_edge_count_toward_the_address_limit(settings, app, tmp_path):
    client = app.extensions["workflows"].redis
    limited = settings.with_overrides(rate_limit_failed_auth="3/minute")
    proc, url = start_edge(limited, tmp_path)
    try:
        for _ in range(3):
            assert requests.get(f"{url}/api/v1/events", headers=auth("wfp_app_guess-000000000"), timeout=10) \
                .status_code == 401
        blocked = requests.get(f"{url}/api/v1/events", headers=auth(user=person()), timeout=10)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1  # even with a valid key
        assert "failed authentications" in blocked.json()["error"]["message"]
    finally:
        proc.stop()
        for key in client.scan_iter(match="wf:rl*failed-auth*"):  # other tests call from this address too
            client.delete(key)
