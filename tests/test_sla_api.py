"""SLA policies on the real stack: a run pins the workspace's policies, a request answer shows its policy and the
times computed on the calendar, and a policy's auto-approval is a decision by ``system``."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from plugin.engine.sla.business_time import add_business_time, parse_calendar
from plugin.store.requests.request_facts import index_args
from tests.conftest import ADMIN_KEY, TEST_WORKSPACES, WorkerThread, auth, serve_app, serve_worker
from tests.requests_helpers import finished, pending_requests, person
from tests.test_expense_flow import wait_for

SLA_WORKSPACE = TEST_WORKSPACES.parent / "sla_workspace"
OFFICE = parse_calendar({"time_zone": "Europe/Paris", "hours": {"start": "09:00", "end": "17:00"},
                         "holidays": ["2026-12-25", "2027-01-01"]})


@pytest.fixture(scope="module")
def sla_settings(settings):
    return settings.with_overrides(workspaces=(TEST_WORKSPACES / "approvals", SLA_WORKSPACE),
                                   task_queue=f"sla-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def sla_worker(sla_settings) -> Iterator[WorkerThread]:
    yield from serve_worker(sla_settings)


@pytest.fixture(scope="module")
def sla_client(sla_settings, sla_worker):
    for application in serve_app(sla_settings):
        yield application.test_client()


def start(client, requester: str, requests: list[dict], query: str = "sla_probe") -> str:
    body = {"input": {"requests": [{"resolutions": ["Approve", "Reject"], **r} for r in requests]}}
    response = client.post(f"/api/v1/queries/{query}/runs", headers=auth(user=requester), json=body)
    assert response.status_code == 202, response.json
    return response.json["run_id"]


def test_a_request_under_the_querys_policy_shows_the_policy_and_its_business_times(sla_client):
    boss = person("boss")
    run_id = start(sla_client, person("req"), [{"name": "Buy", "users": [boss]}])
    (pending,) = pending_requests(sla_client, run_id)
    answer = sla_client.get(f"/api/v1/requests/{pending['id']}", headers=auth(user=boss))
    assert answer.status_code == 200, answer.json
    request = answer.json
    sla = request["sla"]
    assert sla["policy"] == "office-standard" and sla["calendar"] == "paris-office"
    assert sla["time_zone"] == "Europe/Paris" and sla["at_expiry"] == "expire" and sla["expiry_resolution"] is None
    assert len(sla["version"]) == 16
    calendar = OFFICE
    opened = datetime.fromisoformat(request["created_at"])
    hours = 3600
    assert sla["due_at"] == request["due_at"] == add_business_time(opened, 16 * hours, calendar).isoformat()
    assert sla["remind_at"] == [add_business_time(opened, n * 4 * hours, calendar).isoformat() for n in (1, 2, 3)]
    assert [(e["after"], e["at"], e["users"], e["groups"], e["done"]) for e in sla["escalations"]] == [
        ("8h", add_business_time(opened, 8 * hours, calendar).isoformat(), ["lead@example.com"], [], False),
        ("12h", add_business_time(opened, 12 * hours, calendar).isoformat(), [], ["directors"], False)]
    assert request["max_reminders"] == 3 and request["remind_every_seconds"] is None
    # The same block in the inbox and in run detail.
    listed = sla_client.get("/api/v1/requests", headers=auth(user=boss)).json["requests"]
    assert [r["sla"] for r in listed] == [sla]
    sla_client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(ADMIN_KEY))


def test_a_request_with_its_own_due_time_keeps_it_and_has_no_policy(sla_client):
    boss = person("boss")
    run_id = start(sla_client, person("req"), [{"name": "Own", "users": [boss], "due_in_seconds": 3600}])
    (pending,) = pending_requests(sla_client, run_id)
    assert pending["sla"] is None and pending["due_at"]
    sla_client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(ADMIN_KEY))


def test_auto_approval_at_expiry_is_a_decision_by_the_system_seen_through_the_api(sla_client):
    boss = person("boss")
    run_id = start(sla_client, person("req"), [{"name": "Quick", "users": [boss],
                                                "sla_policy": "seconds-auto-approve"}])
    run = finished(sla_client, run_id)
    assert run["status"] == "completed", run
    assert run["output"]["outcomes"] == [{"name": "Quick", "resolution": "Approve", "decided_by": ["system"],
                                          "payload": {},
                                          "comment": "auto-approve at the due time under SLA policy "
                                                     "'seconds-auto-approve'"}]
    (request,) = run["requests"]
    assert request["status"] == "resolved" and request["groups"] == ["night-shift"]
    (decision,) = request["decisions"]
    assert decision["actor"] == "system" and decision["via"] == "sla_policy"
    assert request["sla"]["escalations"][0]["done"] is True
    actions = [a["action"] for a in run["audit"]]
    assert actions == ["request_opened", "escalated", "decided", "resolved_on_due"]
    decided = run["audit"][2]
    assert decided["actor"] == "system" and decided["details"] == {"resolution": "Approve", "via": "sla_policy"}
    # Analytics counts it as resolved on due, not as decided by a person within the policy.
    assert json.loads(index_args(request)[2])["a"] == []


def test_a_request_naming_an_unknown_policy_fails_its_step_in_plain_words(sla_client):
    run_id = start(sla_client, person("req"), [{"name": "Lost", "users": [person("boss")], "sla_policy": "gold"}])
    run = finished(sla_client, run_id)
    assert run["output"]["outcomes"] == [{"name": "Lost", "error": "InvalidRequestOptions"}]


def test_an_edited_policy_changes_new_runs_never_a_running_one(sla_settings, sla_worker, tmp_path):
    folder = tmp_path / "sla_workspace"
    shutil.copytree(SLA_WORKSPACE, folder)
    own = sla_settings.with_overrides(workspaces=(TEST_WORKSPACES / "approvals", folder))
    boss = person("boss")
    two_steps = [{"name": "First", "users": [boss]}, {"name": "Second", "users": [boss]}]
    for before in serve_app(own):
        old_run = start(before.test_client(), person("req"), two_steps)
        (first,) = pending_requests(before.test_client(), old_run)
    spec = json.loads((folder / "workspace.json").read_text())
    spec["sla_policies"]["office-standard"]["due_after"] = "24h"
    (folder / "workspace.json").write_text(json.dumps(spec))
    for after in serve_app(own):  # a fresh API reads the edited file
        client = after.test_client()
        new_run = start(client, person("req"), two_steps[:1])
        (fresh,) = pending_requests(client, new_run)
        decided = client.post(f"/api/v1/requests/{first['id']}/resolve", headers=auth(user=boss),
                              json={"resolution": "Approve"})
        assert decided.status_code == 200, decided.json
        second = wait_for(lambda c=client: [r for r in pending_requests(c, old_run) if r["name"] == "Second"])[0]
        hours = 3600
        # The running workflow opened its second request after the edit, under the policy it started with.
        assert second["sla"]["version"] == first["sla"]["version"] != fresh["sla"]["version"]
        assert second["due_at"] == add_business_time(datetime.fromisoformat(second["created_at"]), 16 * hours,
                                                     OFFICE).isoformat()
        assert fresh["due_at"] == add_business_time(datetime.fromisoformat(fresh["created_at"]), 24 * hours,
                                                    OFFICE).isoformat()
        for run_id in (old_run, new_run):
            client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(ADMIN_KEY))
