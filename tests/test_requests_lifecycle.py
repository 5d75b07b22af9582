"""Requests over time and through trouble: due times, reminders, escalation, reassignment, run cancel,
Redis losing its data, a worker killed while a request waits, and the inbox's pages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import redis

from plugin.api import create_app
from plugin.embedded.processes import ManagedProcess, spawn, wait_until
from plugin.engine.activities import NOTIFICATION_LOG
from plugin.temporal_gateway import connect_client
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import (
    act,
    finished,
    group,
    inbox,
    inbox_ids,
    pending_requests,
    person,
    run_detail,
    start_probe,
)
from tests.test_expense_flow import wait_for


def audit_actions(run: dict) -> list[str]:
    return [a["action"] for a in run["audit"]]


def test_due_time_passes_with_reminders_then_the_request_expires(client, settings):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Hurry", "users": [boss], "due_in_seconds": 3.5,
                                                  "remind_every_seconds": 1, "max_reminders": 5}])
    [request] = pending_requests(client, run_id)
    assert request["due_at"]
    run = finished(client, run_id)
    assert run["output"]["outcomes"][0]["error"] == "RequestExpired"
    actions = audit_actions(run)
    # Reminders fall at 1s, 2s and 3s; the fourth would come after the due time, so it is never sent.
    assert actions.count("reminded") == 3 and actions[-1] == "expired"
    [final] = [r for r in run["requests"]]
    assert final["status"] == "expired" and final["reminders_sent"] == 3
    log = redis.Redis.from_url(settings.effective_redis_url).lrange(NOTIFICATION_LOG, 0, -1)
    mine = [entry for entry in log if request["id"].encode() in entry]
    kinds = sorted(__import__("json").loads(e)["kind"] for e in mine)
    assert kinds == ["assigned", "ended", "reminder", "reminder", "reminder"]
    assert request["id"] in wait_for(lambda: inbox_ids(client, boss, status="expired"))
    assert request["id"] not in inbox_ids(client, boss)
    late = act(client, request["id"], boss, resolution="Approve")
    assert late.status_code == 409 and "expired" in late.json["error"]["message"]


def test_due_time_with_a_default_resolution(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Silence is consent", "users": [boss],
                                                  "due_in_seconds": 1.5, "due_resolution": "Approve"}])
    outcome = finished(client, run_id)["output"]["outcomes"][0]
    assert outcome["resolution"] == "Approve" and outcome["decided_by"] == []
    assert "resolved_on_due" in audit_actions(run_detail(client, run_id))


def test_escalation_adds_people_who_can_then_decide(client):
    boss, chief = person("boss"), person("chief")
    started = time.monotonic()
    run_id = start_probe(client, person("req"), [{"name": "Escalate", "users": [boss],
                                                  "escalate_after_seconds": 2, "escalate_to_users": [chief]}])
    [request] = pending_requests(client, run_id)
    early = act(client, request["id"], chief, resolution="Approve")
    if time.monotonic() - started < 2:  # answered before the escalation could fire (a slow machine skips this)
        assert early.status_code == 404, "not yet an assignee"
    if early.status_code != 200:
        assert request["id"] in wait_for(lambda: inbox_ids(client, chief))
        assert act(client, request["id"], chief, resolution="Approve").status_code == 200
    run = finished(client, run_id)
    assert run["output"]["outcomes"][0]["decided_by"] == [chief]
    assert audit_actions(run).index("escalated") < audit_actions(run).index("decided")


def test_reassignment_moves_the_request(client):
    first, second, stranger = person("first"), person("second"), person("out")
    run_id = start_probe(client, person("req"), [{"name": "Delegate", "users": [first]}])
    [request] = pending_requests(client, run_id)
    rid = request["id"]
    assert act(client, rid, stranger, action="reassign", to_users=[stranger]).status_code == 404
    empty = act(client, rid, first, action="reassign")
    assert empty.status_code == 422 and "to_users" in empty.json["error"]["details"]["fields"]
    bad = act(client, rid, first, action="reassign", to_users=["not-an-email"])
    assert bad.status_code == 422
    moved = act(client, rid, first, action="reassign", to_users=[second], comment="on leave")
    assert moved.status_code == 200 and moved.json["users"] == [second]
    assert rid not in inbox_ids(client, first)
    assert rid in inbox_ids(client, second)
    assert act(client, rid, first, resolution="Approve").status_code == 404
    assert act(client, rid, second, resolution="Approve").status_code == 200
    run = finished(client, run_id)
    [entry] = [a for a in run["audit"] if a["action"] == "reassigned"]
    assert entry["actor"] == first and entry["comment"] == "on leave"


def test_admin_may_reassign(client):
    team, boss = group(), person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Admin moves", "groups": [team]}])
    [request] = pending_requests(client, run_id)
    moved = act(client, request["id"], "admin@example.com", action="reassign", key=ADMIN_KEY, to_users=[boss])
    assert moved.status_code == 200 and moved.json["groups"] == []


def test_cancelling_the_run_withdraws_its_waiting_request(client, settings):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Withdrawn", "users": [boss]}])
    [request] = pending_requests(client, run_id)

    async def cancel() -> None:
        client_ = await connect_client(settings)
        await client_.get_workflow_handle(run_id).cancel()

    asyncio.run(cancel())
    assert finished(client, run_id)["status"] == "cancelled"
    assert request["id"] in wait_for(lambda: inbox_ids(client, boss, status="cancelled"))
    assert request["id"] not in inbox_ids(client, boss)


def test_a_terminated_run_leaves_no_pending_request_behind(client, settings):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Terminated", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    assert request["id"] in wait_for(lambda: inbox_ids(client, boss))

    async def terminate() -> None:
        client_ = await connect_client(settings)
        await client_.get_workflow_handle(run_id).terminate("stuck")

    asyncio.run(terminate())
    run = finished(client, run_id)
    assert run["status"] == "terminated"
    assert [r["status"] for r in run["requests"]] == ["cancelled"], "the workflow never got to withdraw it"
    assert request["id"] not in inbox_ids(client, boss)
    assert request["id"] in inbox_ids(client, boss, status="cancelled")
    late = act(client, request["id"], boss, resolution="Approve")
    assert late.status_code == 409 and "cancelled" in late.json["error"]["message"]


def test_reindex_closes_out_requests_of_runs_that_ended_unseen(client, settings):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Unseen", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    assert request["id"] in wait_for(lambda: inbox_ids(client, boss))

    async def terminate() -> None:
        client_ = await connect_client(settings)
        await client_.get_workflow_handle(run_id).terminate("gone")

    asyncio.run(terminate())
    assert request["id"] in inbox_ids(client, boss), "nothing has looked at the run yet"
    done = subprocess.run([sys.executable, "-m", "plugin.cli", "reindex"], capture_output=True, text=True,
                          env={**os.environ, **settings.to_env()}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Inbox rebuilt" in done.stdout
    assert request["id"] not in inbox_ids(client, boss)
    assert request["id"] in inbox_ids(client, boss, status="cancelled")


def test_inbox_comes_back_after_redis_loses_everything(client, settings):
    team = group()
    run_ids = [start_probe(client, person("req"), [{"name": f"Flush {i}", "groups": [team]}]) for i in range(3)]
    first_id = pending_requests(client, run_ids[0])[0]["id"]
    ids = sorted(pending_requests(client, r)[0]["id"] for r in run_ids)
    viewer = person("v")
    assert sorted(wait_for(lambda: (got := inbox_ids(client, viewer, team)) and len(got) == 3 and got)) == ids

    redis.Redis.from_url(settings.effective_redis_url).flushall()
    assert sorted(inbox_ids(client, viewer, team)) == ids

    assert act(client, first_id, viewer, groups=team, resolution="Approve").status_code == 200
    assert act(client, first_id, person("w"), groups=team, resolution="Approve").status_code == 409
    run = finished(client, run_ids[0])
    assert len(run["decisions"]) == 1


def test_inbox_pages_never_skip_or_repeat(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": f"Page {i}", "users": [boss]} for i in range(25)],
                         parallel=True)
    pending_requests(client, run_id, 25)
    wait_for(lambda: len(inbox_ids(client, boss, limit=100)) == 25)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = inbox(client, boss, **params)
        seen += [r["id"] for r in page["requests"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 25 and len(set(seen)) == 25
    named = inbox(client, boss, name="Page 7")["requests"]
    assert [r["name"] for r in named] == ["Page 7"]


def test_inbox_argument_mistakes_are_422(client):
    who = person("x")
    for params, field in [({"status": "open"}, "status"), ({"limit": 0}, "limit"), ({"limit": 1000}, "limit"),
                          ({"cursor": "garbage"}, "cursor"), ({"colour": "red"}, "colour")]:
        response = client.get("/api/v1/requests", headers=auth(user=who), query_string=params)
        assert response.status_code == 422, (params, response.json)
        assert field in response.json["error"]["details"]["fields"]
    no_user = client.get("/api/v1/requests", headers=auth())
    assert no_user.status_code == 400
    bad_user = client.get("/api/v1/requests", headers=auth(user="bob"))
    assert bad_user.status_code == 400 and "email" in bad_user.json["error"]["message"]


def test_one_request_is_readable_by_those_who_may_see_it(client):
    boss, requester = person("boss"), person("req")
    run_id = start_probe(client, requester, [{"name": "Look", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    wait_for(lambda: client.get(f"/api/v1/requests/{request['id']}", headers=auth(user=boss)).status_code == 200)
    assert client.get(f"/api/v1/requests/{request['id']}", headers=auth(user=requester)).status_code == 200
    assert client.get(f"/api/v1/requests/{request['id']}", headers=auth(user=person("x"))).status_code == 404


def test_a_killed_worker_restarted_while_a_request_waits(settings, tmp_path):
    own = settings.with_overrides(task_queue=f"killed-{uuid.uuid4().hex[:8]}")
    env = own.to_env()

    def start_worker() -> ManagedProcess:
        proc = spawn("Worker", [sys.executable, "-m", "plugin.cli", "worker"], tmp_path / "worker.log", env,
                     cwd=os.getcwd())
        return proc

    app = create_app(own)
    client = app.test_client()
    worker = start_worker()
    try:
        wait_until(worker, lambda: client.get("/readyz").status_code == 200, 60, "polling")
        boss = person("boss")
        run_id = start_probe(client, person("req"), [{"name": "Survive", "users": [boss]}])
        [request] = pending_requests(client, run_id)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(10)
        worker = start_worker()
        # While no worker runs, the call answers 503 after the gateway timeout; Temporal still holds the
        # update, and the restarted worker applies it. A retry then learns it already landed (409, by boss).
        resolved = wait_for(lambda: (r := act(client, request["id"], boss, resolution="Approve")).status_code
                            != 503 and r, timeout=60)
        if resolved.status_code == 409:
            assert resolved.json["error"]["details"]["decided_by"] == boss, resolved.json
        else:
            assert resolved.status_code == 200, resolved.json
        run = finished(client, run_id)
        assert run["output"]["outcomes"][0]["resolution"] == "Approve"
        assert len(run["decisions"]) == 1, "the decision landed exactly once"
    finally:
        worker.stop()
        app.extensions["workflows"].gateway.close()
    assert subprocess.run(["pgrep", "-f", env["WORKFLOWS_TASK_QUEUE"]], capture_output=True).returncode == 1


def test_a_business_key_reused_by_a_new_run_gets_new_request_ids(client):
    boss, key = person("boss"), uuid.uuid4().hex[:10]
    body = {"input": {"key": key, "requests": [{"name": "Keyed", "users": [boss],
                                                 "resolutions": ["Approve", "Reject"]}]}}

    def start() -> str:
        response = client.post("/api/v1/queries/approval_probe_keyed/runs", headers=auth(user=person("r")),
                               json=body)
        assert response.status_code in (200, 202), response.json
        return response.json["run_id"]

    run_id = start()
    [first] = pending_requests(client, run_id)
    assert act(client, first["id"], boss, resolution="Approve").status_code == 200
    finished(client, run_id)
    assert start() == run_id, "the business key names the run"
    second = wait_for(lambda: [r for r in run_detail(client, run_id)["requests"]
                               if r["status"] == "pending" and r["id"] != first["id"]])[0]
    assert second["id"].startswith(f"{run_id}:") and second["id"] != first["id"]
    assert second["id"] in wait_for(lambda: inbox_ids(client, boss)), "the new request is in the inbox"
    assert act(client, second["id"], boss, resolution="Reject").status_code == 200
