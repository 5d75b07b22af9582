"""Live updates over Server-Sent Events: who sees what, resuming without gaps, tokens, heartbeats."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import pytest

from plugin.store.events import FLOOR, EventStream, id_key
from tests.conftest import auth
from tests.requests_helpers import act, finished, group, pending_requests, person, start_probe
from tests.test_expense_flow import wait_for


class Listener:
    """Reads one SSE response in a thread; events (and comments) arrive in a queue."""

    def __init__(self, response) -> None:
        self.response = response
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments: list[str] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = ""
        try:
            for chunk in self.response.response:
                if self._closing.is_set():
                    break
                buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    fields: dict[str, str] = {}
                    for line in block.split("\n"):
                        if line.startswith(":"):
                            self.comments.append(line[1:].strip())
                        elif ": " in line:
                            name, value = line.split(": ", 1)
                            fields[name] = value
                    if "event" in fields:
                        self.events.put({"id": fields.get("id"), "type": fields["event"],
                                         "data": json.loads(fields["data"])})
        finally:
            self.response.close()  # closed by the thread that iterates it (the generator's finally runs)

    def until(self, predicate, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Collect events until one matches; returns all collected (AssertionError on timeout)."""
        seen: list[dict[str, Any]] = []
        while True:
            try:
                event = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no matching event; saw {seen}") from None
            seen.append(event)
            if predicate(event):
                return seen

    def drain(self) -> list[dict[str, Any]]:
        """Everything received so far."""
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def close(self) -> None:
        """Drop the connection (within a heartbeat)."""
        self._closing.set()
        self._thread.join(10)


@pytest.fixture
def sse(app, client):
    app.config["WORKFLOWS_SSE_HEARTBEAT"] = 0.2
    opened: list[Listener] = []

    def open_stream(headers: dict[str, str] | None = None, **params: Any) -> Listener:
        response = client.get("/api/v1/events", headers=headers or {}, query_string=params, buffered=False)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/event-stream"
        listener = Listener(response)
        opened.append(listener)
        return listener

    yield open_stream
    for listener in opened:
        listener.close()


def _about(run_id: str):
    return lambda e: e["data"].get("run_id") == run_id


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
])
def test_bad_stream_calls_are_refused_in_the_error_shape(client, params, headers, status, words):
    response = client.get("/api/v1/events", headers=headers, query_string=params)
    assert response.status_code == status
    assert words in response.json["error"]["message"]


def test_a_resume_from_before_the_retention_window_is_told_to_reload(app, sse):
    store = EventStream(app.extensions["workflows"].redis)
    store.publish("run.updated", {"run_id": "x"}, ["nobody@example.com"], [])
    floor = int(store.redis.get(FLOOR))
    stream = sse(auth(user=person()), last_event_id=f"{floor - 1}-0")
    reset = stream.until(lambda e: e["type"] == "events.reset")
    assert "reload" in reset[-1]["data"]["reason"]


def test_a_stream_token_dies_with_its_key(client):
    from tests.conftest import ADMIN_KEY
    from tests.identity_helpers import create_key

    created = create_key(client)
    answer = client.post("/api/v1/events/token", headers={"Authorization": f"Bearer {created['secret']}",
                                                          "X-Workflows-User": "kim@example.com"})
    assert answer.status_code == 200, answer.json
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    refused = client.get("/api/v1/events", query_string={"token": answer.json["token"]})
    assert refused.status_code == 401 and "no longer valid" in refused.json["error"]["message"]


def test_a_process_holds_only_as_many_streams_as_its_threads_allow(app, client, sse):
    app.config["WORKFLOWS_SSE_MAX_STREAMS"] = 1
    try:
        held = sse(auth(user=person()))
        wait_for(lambda: "connected" in held.comments, timeout=5)
        refused = client.get("/api/v1/events", headers=auth(user=person()))
        assert refused.status_code == 503 and "WORKFLOWS_API_THREADS" in refused.json["error"]["message"]
    finally:
        app.config["WORKFLOWS_SSE_MAX_STREAMS"] = None


def test_one_users_many_streams_do_not_shut_out_another(app, client, sse):
    cap = app.extensions["workflows"].settings.streams.max_per_user
    greedy = person("greedy")
    for _ in range(cap):
        sse(auth(user=greedy))
    refused = client.get("/api/v1/events", headers=auth(user=greedy))
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_streams"
    assert refused.json["error"]["details"]["scope"] == "user"
    sse(auth(user=person("other")))


def test_a_stream_ends_within_seconds_of_its_key_being_revoked(client, sse, app):
    from tests.conftest import ADMIN_KEY
    from tests.identity_helpers import create_key

    created = create_key(client)
    user = person("rev")
    stream = sse({"Authorization": f"Bearer {created['secret']}", "X-Workflows-User": user})
    wait_for(lambda: "connected" in stream.comments, timeout=5)
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    EventStream(app.extensions["workflows"].redis).publish("run.updated", {"run_id": "after-revoke"}, [user], [])
    closing = stream.until(lambda e: e["type"] == "events.closed", timeout=5)
    assert "revoked" in closing[-1]["data"]["reason"]
    assert not [e for e in closing if e["data"].get("run_id") == "after-revoke"]
