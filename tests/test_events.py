"""Live updates over Server-Sent Events, on both faces that serve them (the events edge, and the API's own route):
who sees what, resuming without gaps, tokens, heartbeats, caps per user, and streams that end with their key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from plugin.store.events import FLOOR, EventStream, id_key
from tests.conftest import ADMIN_KEY, auth
from tests.edge_helpers import SseReader, open_edge_stream, serve_edge
from tests.identity_helpers import create_key
from tests.requests_helpers import act, finished, group, pending_requests, person, start_probe
from tests.test_expense_flow import wait_for


class Listener(SseReader):
    """A stream of the API's own route, through Flask's test client."""

    def __init__(self, response) -> None:
        self.response = response
        self._closing = False
        super().__init__()

    def chunks(self) -> Iterator[bytes]:
        try:
            for chunk in self.response.response:
                if self._closing:
                    break
                yield chunk
        finally:
            self.response.close()  # closed by the thread that iterates it (the generator's finally runs)

    def close(self) -> None:
        """Drop the connection (within a heartbeat)."""
        self._closing = True
        self.join()


@pytest.fixture(scope="module")
def edge(settings, app, tmp_path_factory) -> Iterator[str]:
    yield from serve_edge(settings, tmp_path_factory.mktemp("edge"), heartbeat=0.2, key_check=0.5)


@pytest.fixture(params=["edge", "api"])
def face(request) -> str:
    """Which server the stream is opened on."""
    return request.param


class Face:
    """Opening streams (and being refused) on one face."""

    def __init__(self, name: str, client, edge_url: str | None) -> None:
        self.name, self.client, self.edge_url = name, client, edge_url
        self.opened: list[Any] = []

    def open(self, headers: dict[str, str] | None = None, **params: Any):
        if self.edge_url:
            stream = open_edge_stream(self.edge_url, headers, **params)
        else:
            response = self.client.get("/api/v1/events", headers=headers or {}, query_string=params, buffered=False)
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.mimetype == "text/event-stream"
            stream = Listener(response)
        self.opened.append(stream)
        return stream

    def refusal(self, headers: dict[str, str] | None = None, **params: Any) -> tuple[int, dict[str, Any]]:
        if self.edge_url:
            answer = requests.get(f"{self.edge_url}/api/v1/events", headers=headers or {}, params=params, timeout=10)
            return answer.status_code, answer.json()
        response = self.client.get("/api/v1/events", headers=headers or {}, query_string=params)
        return response.status_code, response.json


@pytest.fixture
def streams(face, app, client, request) -> Iterator[Face]:
    app.config["WORKFLOWS_SSE_HEARTBEAT"] = 0.2
    faces = Face(face, client, request.getfixturevalue("edge") if face == "edge" else None)
    yield faces
    for stream in faces.opened:
        stream.close()


@pytest.fixture
def sse(streams) -> Any:
    return streams.open


def _about(run_id: str):
    return lambda e: e["data"].get("run_id") == run_id


def _key_headers(secret: str, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "X-Workflows-User": user}


def test_each_user_sees_only_the_runs_and_requests_they_may_see(client, sse):
    requester, approver, outsider = person("req"), person("boss"), person("out")
    approvers, others = group(), group()
    as_requester = sse(auth(user=requester))
    as_approver = sse(auth(user=approver, groups=approvers))
    as_outsider = sse(auth(user=outsider, groups=others))
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    request = pending_requests(client, run_id)[0]

    opened = as_approver.until(lambda e: e["type"] == "request.opened" and e["data"]["run_id"] == run_id)
    assert opened[-1]["data"]["request_id"] == request["id"]
    as_requester.until(lambda e: e["type"] == "request.opened" and _about(run_id)(e))
    assert act(client, request["id"], approver, groups=approvers, resolution="Approve").status_code == 200
    finished(client, run_id)
    as_requester.until(lambda e: e["type"] == "run.updated" and _about(run_id)(e)
                       and e["data"]["status"] == "completed")
    as_approver.until(lambda e: e["type"] == "request.decided" and _about(run_id)(e))

    # the outsider's stream stayed open (heartbeats) and carried nothing about this run
    wait_for(lambda: "heartbeat" in as_outsider.comments, timeout=5)
    assert not [e for e in as_outsider.drain() if _about(run_id)(e)]


def test_resume_after_a_dropped_connection_loses_nothing(client, sse):
    requester, approver, approvers = person("req"), person("boss"), group()
    first = sse(auth(user=requester))
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    seen = first.until(lambda e: e["type"] == "request.opened" and _about(run_id)(e))
    last_id = seen[-1]["id"]
    first.close()  # the connection drops; meanwhile the request is decided and the run completes

    request = pending_requests(client, run_id)[0]
    assert act(client, request["id"], approver, groups=approvers, resolution="Approve").status_code == 200
    finished(client, run_id)

    resumed = sse({**auth(user=requester), "Last-Event-ID": last_id})
    after = resumed.until(lambda e: e["type"] == "run.updated" and _about(run_id)(e)
                          and e["data"]["status"] == "completed")
    mine = [e for e in after if _about(run_id)(e)]
    assert [e["type"] for e in mine if e["type"].startswith("request.")] == ["request.decided"]
    assert all(id_key(e["id"]) > id_key(last_id) for e in after)  # nothing from before the drop is sent again
    assert len({e["id"] for e in after}) == len(after)


def test_a_stream_token_opens_the_stream_for_eventsource(client, sse):
    requester, approvers = person("req"), group()
    answer = client.post("/api/v1/events/token", headers=auth(user=requester))
    assert answer.status_code == 200, answer.json
    assert answer.json["expires_in"] == 300 and answer.json["url"].startswith("/api/v1/events?token=")
    stream = sse(token=answer.json["token"])
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    stream.until(lambda e: e["type"] == "request.opened" and _about(run_id)(e))


@pytest.mark.parametrize("params, headers, status, words", [
    ({"token": "not-a-token"}, {}, 401, "stream token is not valid"),
    ({}, {}, 401, "Authorization: Bearer"),
    ({"last_event_id": "yesterday"}, auth(user="ann@example.com"), 400, "Last-Event-ID"),
    ({}, auth(), 400, "X-Workflows-User"),
    ({}, auth("wfp_app_guessed-key-000000"), 401, "not valid"),
])
def test_bad_stream_calls_are_refused_in_the_error_shape(streams, params, headers, status, words):
    answered, body = streams.refusal(headers, **params)
    assert answered == status
    assert words in body["error"]["message"] and set(body["error"]) == {"code", "message", "details"}


def test_a_resume_from_before_the_retention_window_is_told_to_reload(app, sse):
    store = EventStream(app.extensions["workflows"].redis)
    store.publish("run.updated", {"run_id": "x"}, ["nobody@example.com"], [])
    floor = int(store.redis.get(FLOOR))
    stream = sse(auth(user=person()), last_event_id=f"{floor - 1}-0")
    reset = stream.until(lambda e: e["type"] == "events.reset")
    assert "reload" in reset[-1]["data"]["reason"]


def test_a_stream_token_dies_with_its_key(client, streams):
    created = create_key(client)
    answer = client.post("/api/v1/events/token", headers=_key_headers(created["secret"], "kim@example.com"))
    assert answer.status_code == 200, answer.json
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    status, body = streams.refusal(token=answer.json["token"])
    assert status == 401 and "no longer valid" in body["error"]["message"]


def test_one_users_many_streams_do_not_shut_out_another(app, streams):
    cap = app.extensions["workflows"].settings.streams.max_per_user
    greedy = person("greedy")
    held = [streams.open(auth(user=greedy)) for _ in range(cap)]
    status, body = streams.refusal(auth(user=greedy))
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["scope"] == "user"
    streams.open(auth(user=person("other")))  # another user of the same key still gets a stream
    held[0].close()  # a closed stream gives its slot back

    def reopened() -> Any:
        try:
            return streams.open(auth(user=greedy))
        except AssertionError:  # still 429
            return None

    wait_for(reopened, timeout=5)


def test_a_stream_ends_within_seconds_of_its_key_being_revoked(client, sse, app):
    created = create_key(client)
    user = person("rev")
    by_headers = sse(_key_headers(created["secret"], user))
    token = client.post("/api/v1/events/token", headers=_key_headers(created["secret"], user)).json["token"]
    by_token = sse(token=token)
    wait_for(lambda: "connected" in by_headers.comments and "connected" in by_token.comments, timeout=5)

    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    EventStream(app.extensions["workflows"].redis).publish("run.updated", {"run_id": "after-revoke"}, [user], [])
    for stream in (by_headers, by_token):
        closing = stream.until(lambda e: e["type"] == "events.closed", timeout=5)
        assert "revoked" in closing[-1]["data"]["reason"]
        assert stream.ended.wait(5)
        assert not [e for e in closing + stream.drain() if e["data"].get("run_id") == "after-revoke"]


def test_an_expiring_key_ends_its_stream_and_its_token_never_outlives_it(client, sse):
    expires = datetime.now(UTC) + timedelta(seconds=4)
    created = create_key(client, name="short-lived", expires_at=expires.isoformat(timespec="seconds"))
    headers = _key_headers(created["secret"], person("exp"))
    answer = client.post("/api/v1/events/token", headers=headers)
    assert answer.status_code == 200 and answer.json["expires_in"] <= 4
    opened = sse(headers)
    started = time.monotonic()
    opened.until(lambda e: e["type"] == "events.closed", timeout=10)
    assert opened.ended.wait(5)
    assert time.monotonic() - started < 4 + 3  # within a few seconds of the expiry


def test_an_api_process_holds_only_as_many_streams_as_its_threads_allow(app, client):
    app.config["WORKFLOWS_SSE_MAX_STREAMS"] = 1
    held = Face("api", client, None)
    try:
        stream = held.open(auth(user=person()))
        wait_for(lambda: "connected" in stream.comments, timeout=5)
        refused = client.get("/api/v1/events", headers=auth(user=person()))
        assert refused.status_code == 503 and "WORKFLOWS_API_THREADS" in refused.json["error"]["message"]
    finally:
        app.config["WORKFLOWS_SSE_MAX_STREAMS"] = None
        stream.close()


def test_a_key_without_the_read_capability_opens_no_stream(client, streams):
    created = create_key(client, name="trigger-only", capabilities=["trigger"])
    status, body = streams.refusal(_key_headers(created["secret"], person("t")))
    assert status == 403 and body["error"]["details"]["capability"] == "read"
