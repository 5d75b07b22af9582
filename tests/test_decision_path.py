"""The decision path: a run whose last step is the decision completes in the decision's own workflow task, the
read models are right when the POST answers, and a run that goes on after a decision still has its settled
request written by the worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import redis
from temporalio.api.enums.v1 import EventType

from plugin.engine.run_snapshots import SnapshotActivities, SnapshotUpdate
from plugin.models import CANCELLED, PENDING, RESOLVED, Decision, HumanRequest, Identity
from plugin.store.inbox import Inbox
from plugin.store.snapshots import RunSnapshots
from tests.conftest import ADMIN_KEY
from tests.fixtures_nodes import temporal
from tests.requests_helpers import act, inbox, pending_requests, person, run_detail, start_probe
from tests.runs_helpers import listed
from tests.test_expense_flow import wait_for


def _history_types(app, run_id: str) -> list[int]:
    history = temporal(app, lambda c: c.get_workflow_handle(run_id).fetch_history())
    return [e.event_type for e in history.events]


def _listed_waiting(client, who: str, run_id: str) -> None:
    """Wait until run history lists the run as waiting: its request is published and nothing is in flight."""
    wait_for(lambda: [r["id"] for r in listed(client, status="waiting", started_by=who).json["runs"]] == [run_id])


def test_a_decision_that_ends_the_run_completes_it_in_the_decisions_own_task(client, app):
    boss, who = person("boss"), person("r")
    run_id = start_probe(client, who, [{"name": "Only", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    _listed_waiting(client, who, run_id)
    answer = act(client, request["id"], boss, resolution="Approve")
    assert answer.status_code == 200, answer.json
    # The answer comes after the run's closing task, which wrote the end snapshot and the decided request:
    # the very next reads show the run completed with its output, and the request decided.
    detail = run_detail(client, run_id)
    assert detail["status"] == "completed", detail["status"]
    assert detail["output"]["outcomes"][0]["resolution"] == "Approve"
    assert [r["status"] for r in detail["requests"]] == [RESOLVED]
    assert [r["id"] for r in inbox(client, boss, status="resolved")["requests"]] == [request["id"]]
    types = _history_types(app, run_id)
    after = types[types.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED):]
    # no second workflow task, no read-model activity between the decision and the end
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED not in after, after
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in after, after
    assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in after, after
    assert after[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


def test_a_run_that_goes_on_after_a_decision_is_listed_running_not_waiting(client, app):
    boss, who = person("boss"), person("r")
    run_id = start_probe(client, who, [{"name": "First", "users": [boss]}], sleep_after=60)
    [request] = pending_requests(client, run_id)
    _listed_waiting(client, who, run_id)
    assert act(client, request["id"], boss, resolution="Approve").status_code == 200
    assert run_detail(client, run_id)["status"] == "running"
    # the worker's own write of the settled request ran after the decision's task, and flipped the run's
    # WorkflowsWaiting search attribute back
    wait_for(lambda: [r["id"] for r in listed(client, status="running", started_by=who).json["runs"]] == [run_id])
    assert listed(client, status="waiting", started_by=who).json["runs"] == []
    types = _history_types(app, run_id)
    after = types[types.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED):]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in after, "the settled request was published"
    client.post(f"/api/v1/runs/{run_id}/cancel", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, json={})


def _request(run_id: str, n: int, status: str, version: int, user: str = "boss@example.com") -> HumanRequest:
    decisions = [Decision(actor="boss@example.com", resolution="Approve", at="2026-01-01T00:00:01+00:00")] \
        if status == RESOLVED else []
    return HumanRequest(id=f"{run_id}:000000000000-{n}", run_id=run_id, query="approval_probe", name=f"R{n}",
                        message="", metadata={}, resolutions=["Approve", "Reject"], users=[user],
                        groups=[], required_approvals=1, rejecting_resolutions=["Reject"], allow_self_approval=False,
                        requester="r@example.com", created_at="2026-01-01T00:00:00+00:00", status=status,
                        resolution="Approve" if status == RESOLVED else None, decisions=decisions, version=version)


def test_an_ended_runs_snapshot_writes_its_requests_to_the_inbox(redis_url: str):
    # What repairs the inbox when the API's own write after a decision is lost: the run's end snapshot.
    client = redis.Redis.from_url(redis_url)
    store, box = RunSnapshots(client), Inbox(client)
    run_id = f"ended-{uuid.uuid4().hex[:8]}"
    decided, open_one = _request(run_id, 1, RESOLVED, 2), _request(run_id, 2, PENDING, 1)
    box.put(_request(run_id, 1, PENDING, 1))  # what the inbox held before the decision
    box.put(open_one)
    ended_at = datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC).isoformat()
    doc = {"id": run_id, "status": "completed", "chain": "c", "temporal_run_id": "t", "ended_at": ended_at}
    SnapshotActivities(store, box).publish_run_snapshot(
        SnapshotUpdate(doc=doc, start_ms=1000, seq=9, requests=[decided, open_one]))
    assert box.get(decided.id)["status"] == RESOLVED and box.get(decided.id)["version"] == 2
    # a request the ended run left pending can no longer be decided: stored cancelled
    assert box.get(open_one.id)["status"] == CANCELLED and box.get(open_one.id)["resolved_at"] == ended_at
    snap = store.get(run_id)
    assert snap is not None and set(snap.requests) == {decided.id, open_one.id}
    assert all(r is not None and r["status"] != PENDING for r in snap.requests.values())


def test_a_provisional_request_write_gives_way_to_the_committed_one(redis_url: str):
    # The end snapshot writes requests before the closing task commits. Were that task lost (a run cancel landing
    # with the decision fails it) and the run then ended otherwise, the committed version must win.
    client = redis.Redis.from_url(redis_url)
    box = Inbox(client)
    run_id, boss = f"prov-{uuid.uuid4().hex[:8]}", person("boss")
    decided, withdrawn = _request(run_id, 1, RESOLVED, 2, boss), _request(run_id, 1, CANCELLED, 2, boss)
    box.put(_request(run_id, 1, PENDING, 1, boss))
    assert box.put(decided, provisional=True)
    assert box.put(withdrawn), "a committed write of the same version replaces a provisional one"
    assert box.get(decided.id)["status"] == CANCELLED
    assert box.list_for(Identity(user=boss), status=RESOLVED).raw_items == []
    assert len(box.list_for(Identity(user=boss), status=CANCELLED).raw_items) == 1
    assert not box.put(decided, provisional=True), "a provisional write never beats a stored version"
    assert not box.put(decided), "nor does a committed one of the same version"
    assert box.get(decided.id)["status"] == CANCELLED

    other = f"prov-{uuid.uuid4().hex[:8]}"
    confirmed = _request(other, 1, RESOLVED, 2)
    assert box.put(confirmed, provisional=True)
    events_before = client.xlen("wf:events")
    assert box.put(confirmed), "the committed write confirms the provisional one"
    assert client.xlen("wf:events") == events_before, "the same document is not announced twice"
    assert not box.put(_request(other, 1, CANCELLED, 2)), "once confirmed, the version is settled"
    assert box.get(confirmed.id)["status"] == RESOLVED
