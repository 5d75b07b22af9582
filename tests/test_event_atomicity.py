"""A read-model write and its live event are one step: a version that is stored has its event on the stream,
and a write whose event cannot be appended stores nothing (before, the write landed and the event was lost
for good when Redis failed between the two calls). Real Redis, in a database of its own (the failure is made
by giving the stream's key the wrong type, so XADD fails inside the write)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from plugin.store.events import STREAM, EventStream
from plugin.store.inbox import PREFIX, Inbox
from plugin.store.snapshots import RunSnapshots


@pytest.fixture
def isolated(redis_url: str) -> Iterator[redis.Redis]:
    """A database of the session's Redis that nothing else uses, emptied before and after."""
    client = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/7")
    client.flushdb()
    yield client
    client.flushdb()


def request_doc(version: int = 1, status: str = "pending") -> dict:
    rid = f"req-{uuid.uuid4().hex[:8]}"
    return {"id": rid, "run_id": f"run-{rid}", "name": "Atomic", "status": status, "version": version,
            "created_at": "2026-12-07T10:00:00+00:00", "users": ["ann@example.com"], "groups": ["ops"],
            "query": "probe", "requester": "req@example.com", "resolution": None}


def events_about(client: redis.Redis, key: str, value: str) -> list[dict]:
    return [e.data for e in EventStream(client).after("0-0") if e.data.get(key) == value]


def test_a_request_whose_event_cannot_be_appended_is_not_stored(isolated):
    inbox, doc = Inbox(isolated), request_doc()
    isolated.set(STREAM, "not a stream")  # XADD now fails, as a Redis failure at the publish would
    with pytest.raises(redis.ResponseError):
        inbox.put(doc)
    assert inbox.get(doc["id"]) is None, "a stored version without its event"
    assert not isolated.exists(f"{PREFIX}inbox:pending:u:ann@example.com")
    isolated.delete(STREAM)
    assert inbox.put(doc)
    assert [e["request_id"] for e in events_about(isolated, "request_id", doc["id"])] == [doc["id"]]
    assert not inbox.put(doc), "the same version again is not stored"
    assert inbox.put({**doc, "version": 2, "status": "resolved", "resolution": "Approve"})
    assert [e["status"] for e in events_about(isolated, "request_id", doc["id"])] == ["pending", "resolved"]


def test_a_run_snapshot_whose_event_cannot_be_appended_is_not_stored(isolated):
    snapshots, inbox, request = RunSnapshots(isolated), Inbox(isolated), request_doc()
    assert inbox.put(request)
    run = {"id": request["run_id"], "temporal_run_id": "t1", "status": "running", "started_by": "req@example.com"}
    isolated.delete(STREAM)
    isolated.set(STREAM, "not a stream")
    with pytest.raises(redis.ResponseError):
        snapshots.put(run, start_ms=1000, seq=3, request_ids=[request["id"]])
    assert snapshots.get(run["id"]) is None, "a stored version without its event"
    isolated.delete(STREAM)
    assert snapshots.put(run, start_ms=1000, seq=3, request_ids=[request["id"]])
    events = EventStream(isolated).after("0-0")
    assert [(e.type, e.data["status"]) for e in events] == [("run.updated", "waiting")]
    assert set(events[0].users) == {"req@example.com", "ann@example.com"} and events[0].groups == ["ops"]
    assert not snapshots.put(run, start_ms=1000, seq=2), "an older version publishes nothing"
    assert len(EventStream(isolated).after("0-0")) == 1
