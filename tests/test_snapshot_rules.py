"""Run snapshots never go back in time: an ended run's snapshot is final for its execution."""

from __future__ import annotations

import uuid

import redis

from plugin.store.snapshots import RunSnapshots


def doc(run_id: str, status: str) -> dict:
    return {"id": run_id, "status": status, "chain": "c1", "temporal_run_id": "t1"}


def test_an_open_snapshot_never_replaces_an_ended_one_of_the_same_execution(redis_url: str):
    store = RunSnapshots(redis.Redis.from_url(redis_url))
    run_id = f"snap-{uuid.uuid4().hex[:8]}"
    assert store.put(doc(run_id, "completed"), start_ms=1000, seq=11)
    # the API described the run during its last workflow task: same history length, still "running"
    assert not store.put(doc(run_id, "running"), start_ms=1000, seq=11)
    assert not store.put(doc(run_id, "waiting"), start_ms=1000, seq=12)
    assert store.get(run_id).doc["status"] == "completed"
    # a newer execution under the same id (a business key) still wins
    assert store.put(doc(run_id, "running"), start_ms=2000, seq=3)
    assert store.get(run_id).doc["status"] == "running"
