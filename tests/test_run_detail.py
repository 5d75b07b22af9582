"""GET /runs/{id} and /steps: status, output, errors with their step, the snapshot and its freshness."""

from __future__ import annotations

import redis

from plugin.store.snapshots import RunSnapshots
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import pending_requests
from tests.runs_helpers import ended, error_of, get_run, trigger, user
from tests.test_expense_flow import wait_for


def steps_of(client, run_id: str, who: str | None = None) -> list[dict]:
    response = client.get(f"/api/v1/runs/{run_id}/steps", headers=auth(user=who) if who else auth(ADMIN_KEY))
    assert response.status_code == 200, response.json
    return response.json["steps"]


def test_a_failed_run_names_the_error_and_the_step_that_failed(client):
    who = user()
    run = ended(client, trigger(client, who, {"missing_activity": True})["run_id"], who)
    assert run["status"] == "failed" and run["ended_at"] and run["started_at"]
    assert run["error"]["step"] == "runs_lab_nobody_serves_this"
    assert "not registered" in run["error"]["message"]
    assert run["temporal_ui_url"].endswith(f"/namespaces/default/workflows/{run['id']}")


def test_snapshot_and_temporal_answer_the_same_run(client, settings):
    who = user()
    run_id = trigger(client, who, {"value": "same", "fail": "broken"})["run_id"]
    from_snapshot = ended(client, run_id, who)
    store = RunSnapshots(redis.Redis.from_url(settings.redis_url))
    assert store.get(run_id).doc["status"] == "failed", "the worker wrote the final snapshot"
    redis.Redis.from_url(settings.redis_url).delete(*store.keys(run_id))
    from_temporal = get_run(client, run_id, who)
    for field in ("status", "input", "output", "error", "started_by", "query", "workflow", "started_at"):
        assert from_snapshot[field] == from_temporal[field], field
    assert store.get(run_id) is not None, "the Temporal answer refreshed the snapshot"


def test_an_older_snapshot_version_never_overwrites_a_newer_one(settings):
    store = RunSnapshots(redis.Redis.from_url(settings.redis_url))
    run_id = f"snap-{user()}"
    doc = {"id": run_id, "temporal_run_id": "r1", "status": "completed"}
    assert store.put(doc, start_ms=1000, seq=9)
    assert not store.put({**doc, "status": "running"}, start_ms=1000, seq=5)
    assert store.get(run_id).doc["status"] == "completed"
    assert store.put({**doc, "temporal_run_id": "r2", "status": "running"}, start_ms=2000, seq=3), \
        "a later run under the same id wins whatever its history length"


def test_a_stale_open_snapshot_is_not_trusted(client, settings):
    """A run ended outside the worker (terminated) still reads right once the open snapshot is old."""
    who = user()
    run_id = trigger(client, who, {"sleep": 60})["run_id"]
    wait_for(lambda: get_run(client, run_id, who)["status"] == "running")
    conn = redis.Redis.from_url(settings.redis_url)
    store = RunSnapshots(conn)
    wait_for(lambda: store.get(run_id) is not None)
    conn.hset(store.keys(run_id)[0], "written_ms", 0)  # as if written long ago
    import asyncio

    from plugin.temporal_gateway import connect_client

    async def terminate() -> None:
        await (await connect_client(settings)).get_workflow_handle(run_id).terminate("test")
    asyncio.run(terminate())
    assert get_run(client, run_id, who)["status"] == "terminated"


def test_unknown_and_hidden_runs_are_404(client):
    assert error_of(client.get("/api/v1/runs/nope-123", headers=auth(ADMIN_KEY)))["code"] == "not_found"
    run_id = trigger(client, user(), {})["run_id"]
    assert client.get(f"/api/v1/runs/{run_id}", headers=auth(user=user())).status_code == 404
    assert client.get(f"/api/v1/runs/{run_id}/steps", headers=auth(user=user())).status_code == 404
    assert client.get(f"/api/v1/runs/{run_id}").status_code == 401
    assert client.get(f"/api/v1/runs/{run_id}", headers=auth()).status_code == 400, "app key needs a user"


def test_steps_list_timers_children_and_failed_activities_with_attempts(client):
    who = user()
    run_id = trigger(client, who, {"sleep": 0.2, "child": True, "missing_activity": True})["run_id"]
    ended(client, run_id, who)
    steps = steps_of(client, run_id, who)
    kinds = {s["kind"]: s for s in steps}
    assert kinds["timer"]["status"] == "completed" and kinds["timer"]["ended_at"]
    assert kinds["child"]["name"] == "runs_lab_child" and kinds["child"]["status"] == "completed"
    activity = kinds["activity"]
    assert activity["name"] == "runs_lab_nobody_serves_this" and activity["status"] == "failed"
    assert activity["attempts"] == 2 and "not registered" in activity["error"]
    assert not any(s["name"] in ("publish_run_snapshot", "publish_request") for s in steps)


def test_steps_are_not_capped_and_follow_continue_as_new(client):
    who = user()
    run_id = trigger(client, who, {"timers": 60, "continue_times": 1})["run_id"]
    run = ended(client, run_id, who, timeout=60)
    assert run["status"] == "completed"
    timers = [s for s in steps_of(client, run_id, who) if s["kind"] == "timer"]
    assert len(timers) == 120, "both runs of the chain, all their timers"


def test_a_waiting_run_shows_its_request_as_a_step_and_leaves_waiting_once_resolved(client):
    who, boss = user(), user("boss")
    run_id = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user=who), json={
        "input": {"employee": who, "amount": 500, "description": "Laptop"}}).json["run_id"]
    [request] = pending_requests(client, run_id)
    assert get_run(client, run_id, who)["status"] == "waiting"
    [step] = [s for s in steps_of(client, run_id, who) if s["kind"] == "request"]
    assert step["name"] == "Approve expense" and step["status"] == "pending"
    resolved = client.post(f"/api/v1/requests/{request['id']}/resolve", headers=auth(user=boss, groups="managers"),
                           json={"resolution": "Approve"})
    assert resolved.status_code == 200, resolved.json
    # the API reported the decision: a read right after never shows the run still waiting on it
    after = get_run(client, run_id, who)
    assert after["status"] != "waiting" and after["decisions"][0]["actor"] == boss
    assert ended(client, run_id, who)["output"]["approved"] is True


def test_a_run_cancelled_outside_the_api_has_a_cancelled_snapshot(client, settings):
    import asyncio

    from plugin.temporal_gateway import connect_client

    who = user()
    run_id = trigger(client, who, {"sleep": 60})["run_id"]
    store = RunSnapshots(redis.Redis.from_url(settings.redis_url))
    wait_for(lambda: store.get(run_id) is not None)

    async def cancel() -> None:
        await (await connect_client(settings)).get_workflow_handle(run_id).cancel()
    asyncio.run(cancel())
    wait_for(lambda: store.get(run_id).doc["status"] != "running", timeout=40)
    assert store.get(run_id).doc["status"] == "cancelled", "the worker's own snapshot, not a refresh"
    assert get_run(client, run_id, who)["status"] == "cancelled"


def test_the_steps_of_a_code_workflow_that_completed_an_activity(client):
    """The onboarding sample's digest (a Python workflow) completes one SQL activity; its timeline lists it."""
    who = user()
    answer = client.post("/api/v1/queries/onboarding_digest/runs?wait=20", headers=auth(user=who),
                         json={"input": {"min_stock": 3}})
    assert answer.status_code == 200, answer.json
    steps = steps_of(client, answer.json["run_id"])
    assert [(s["kind"], s["status"], s["error"]) for s in steps] == [("activity", "completed", None)], steps
    assert steps[0]["ended_at"] and steps[0]["attempts"] == 1
