"""Live event streams stay fair and die with their key, on the real stack: one user cannot take every stream of
a process (a cap per user, and per key, counted in Redis), an open stream ends within seconds of its key being
revoked or expiring, and a stream token never outlives its key."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ADMIN_KEY, auth
from tests.identity_helpers import create_key
from tests.requests_helpers import person, start_probe
from tests.test_events import Face, Listener
from tests.test_expense_flow import wait_for


@pytest.fixture
def sse(app, client):
    """Streams of the API's own route (whose caps these tests set per app); tests/test_events.py runs the same
    rules on the events edge too."""
    app.config["WORKFLOWS_SSE_HEARTBEAT"] = 0.2
    face = Face("api", client, None)
    yield face.open
    for stream in face.opened:
        stream.close()


@pytest.fixture
def fast_checks(app):
    app.config.update(WORKFLOWS_SSE_KEY_CHECK=0.3, WORKFLOWS_SSE_MAX_STREAMS_PER_USER=2)
    yield app
    app.config.update(WORKFLOWS_SSE_KEY_CHECK=None, WORKFLOWS_SSE_MAX_STREAMS_PER_USER=None,
                      WORKFLOWS_SSE_MAX_STREAMS=None)


def test_one_user_cannot_take_every_stream_of_a_process(fast_checks, client, sse):
    fast_checks.config["WORKFLOWS_SSE_MAX_STREAMS"] = 3
    hog, other = person("hog"), person("other")
    held = [sse(auth(user=hog)) for _ in range(2)]
    wait_for(lambda: all("connected" in s.comments for s in held), timeout=5)
    refused = client.get("/api/v1/events", headers=auth(user=hog))
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited", refused.json
    assert "at most 2" in refused.json["error"]["message"] and refused.headers["Retry-After"]
    mine = sse(auth(user=other))  # before the caps: 503, the hog held every stream of the process
    wait_for(lambda: "connected" in mine.comments, timeout=5)
    held[0].close()
    wait_for(lambda: client.get("/api/v1/events", headers=auth(user=hog), buffered=False).status_code != 429
             or None, timeout=5)


def _ended(listener: Listener) -> bool:
    return not listener._thread.is_alive()


def test_an_open_stream_ends_when_its_key_is_revoked_and_sees_nothing_after(fast_checks, client, sse):
    created = create_key(client, identity={"schemes": ["headers"], "headers_source": "server"})
    user = person("kim")
    stream = sse({"Authorization": f"Bearer {created['secret']}", "X-Workflows-User": user})
    wait_for(lambda: "connected" in stream.comments, timeout=5)
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    revoked_at = time.monotonic()
    run_id = start_probe(client, user, [{"name": "After the revoke", "users": [user]}])
    closed = stream.until(lambda e: e["type"] == "events.closed", timeout=10)
    assert time.monotonic() - revoked_at < 5, "the stream outlived its key by more than a few seconds"
    assert [e for e in closed if e["data"].get("run_id") == run_id] == []
    wait_for(lambda: _ended(stream), timeout=5)


def test_a_stream_token_and_its_stream_end_with_the_keys_expiry(fast_checks, client, sse):
    expires = datetime.now(UTC) + timedelta(seconds=4)
    created = create_key(client, identity={"schemes": ["headers"], "headers_source": "server"},
                         expires_at=expires.isoformat())
    headers = {"Authorization": f"Bearer {created['secret']}", "X-Workflows-User": person("lee")}
    answer = client.post("/api/v1/events/token", headers=headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["expires_in"] <= 4, "the token would outlive its key"
    stream = sse(token=answer.json["token"])
    stream.until(lambda e: e["type"] == "events.closed", timeout=15)
    assert datetime.now(UTC) >= expires
    refused = client.get("/api/v1/events", query_string={"token": answer.json["token"]})
    assert refused.status_code == 401
