"""Schedules declared in workspace.json: validated at load, reconciled with Temporal at worker start."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.errors import ConfigError, NotFound
from plugin.gateway_ops.schedule_reconcile import reconcile_schedules
from plugin.gateway_ops.schedules import describe_schedule, owned_ids
from plugin.workspace.loader import load_workspaces
from plugin.workspace.schedules import check_workspace_schedules
from tests.conftest import TEST_WORKSPACES, WorkerThread
from tests.schedule_helpers import Schedules, serve_schedules
from tests.test_expense_flow import wait_for

RUNS_LAB = TEST_WORKSPACES / "runs_lab"


@pytest.fixture
def schedules(client) -> Iterator[Schedules]:
    yield from serve_schedules(client)


def _declared(app, schedules_json: dict) -> dict:
    declared, problems = check_workspace_schedules([(Path("workspace.json"), {"schedules": schedules_json}, [])],
                                                   app.extensions["workflows"].workspace.queries)
    assert problems == []
    return declared


def _reconcile(app, declared: dict):
    svc = app.extensions["workflows"]
    return svc.gateway.call(lambda c: reconcile_schedules(c, declared, svc.workspace.queries,
                                                          svc.settings.task_queue), timeout=60)


def test_reconciling_twice_creates_once_then_leaves_it_alone(app, schedules):
    sid = f"ws-{uuid.uuid4().hex[:8]}"
    schedules.made.append(sid)
    declared = _declared(app, {sid: {"query": "runs_lab", "input": {"value": "a"}, "cron": "0 6 * * 1-5",
                                     "time_zone": "Europe/Paris"}})
    first = _reconcile(app, declared)
    assert sid in first.created
    second = _reconcile(app, declared)
    assert sid in second.unchanged and sid not in second.created + second.updated
    view = schedules.get(sid)
    assert view["origin"] == "workspace" and view["input"] == {"value": "a"} and view["cron"] == "0 6 * * 1-5"


def test_a_changed_declaration_updates_it_and_keeps_an_operators_pause(app, schedules):
    sid = f"ws-{uuid.uuid4().hex[:8]}"
    schedules.made.append(sid)
    _reconcile(app, _declared(app, {sid: {"query": "runs_lab", "cron": "0 6 * * *"}}))
    schedules.post(sid, "pause", {"note": "paused by ops"})
    changed = _reconcile(app, _declared(app, {sid: {"query": "runs_lab", "input": {"value": "b"},
                                                    "cron": "0 7 * * *"}}))
    assert sid in changed.updated
    view = schedules.get(sid)
    assert view["input"] == {"value": "b"} and view["cron"] == "0 7 * * *"
    assert view["paused"] is True and view["note"] == "paused by ops"


def test_a_schedule_no_longer_declared_is_reported_not_deleted(app, schedules):
    sid = f"ws-{uuid.uuid4().hex[:8]}"
    schedules.made.append(sid)
    _reconcile(app, _declared(app, {sid: {"query": "runs_lab", "cron": "0 6 * * *"}}))
    report = wait_for(lambda: sid in (r := _reconcile(app, {})).orphaned and r)  # visibility lags a little
    assert sid in report.orphaned
    assert schedules.get(sid)["origin"] == "workspace"


def test_an_api_schedule_with_a_declared_id_is_left_alone(app, schedules):
    made = schedules.create(cron="0 0 1 1 *", input={"value": "mine"})
    report = _reconcile(app, _declared(app, {made["id"]: {"query": "runs_lab", "cron": "0 6 * * *"}}))
    assert made["id"] in report.skipped and schedules.get(made["id"])["input"] == {"value": "mine"}


def _described(gateway, sid: str, task_queue: str):
    try:
        return gateway.call(lambda c: describe_schedule(c, sid, task_queue))
    except NotFound:
        return None


def _start_worker_and_read(settings, gateway, sid: str):
    worker = WorkerThread(settings)
    worker.start()
    try:
        return wait_for(lambda: _described(gateway, sid, settings.task_queue), timeout=30, interval=0.5)
    finally:
        worker.stop()


def test_a_worker_start_reconciles_the_workspace_schedules(settings, tmp_path, client):
    sid = f"ws-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "scheduled"
    folder.mkdir()
    (folder / "workspace.json").write_text(json.dumps({"name": "scheduled", "schedules": {
        sid: {"query": "runs_lab", "input": {"value": "declared"}, "cron": "0 0 1 1 *"}}}))
    own = settings.with_overrides(workspaces=(*settings.workspaces, folder), task_queue=f"rec-{uuid.uuid4().hex[:8]}")
    gateway = client.application.extensions["workflows"].gateway
    try:
        first = _start_worker_and_read(own, gateway, sid)
        assert first["input"] == {"value": "declared"} and first["origin"] == "workspace"
        again = _start_worker_and_read(own, gateway, sid)  # the second start finds it unchanged
        assert again["created_at"] == first["created_at"] and again["updated_at"] is None
        ids = wait_for(lambda: gateway.call(lambda c: owned_ids(c, own.task_queue)))  # visibility lags a little
        assert ids == [sid]
    finally:
        gateway.call(lambda c: c.get_schedule_handle(sid).delete())


@pytest.mark.parametrize(("schedule", "says"), [
    ({"query": "runs_lab", "cron": "0 25 * * *"}, "cron"),
    ({"query": "runs_lab", "cron": "0 6 * * *", "time_zone": "Europe/Nowhere"}, "time_zone"),
    ({"query": "runs_lab", "cron": "0 6 * * *", "input": {"sleep": "long"}}, "input.sleep"),
    ({"query": "nope", "cron": "0 6 * * *"}, "query"),
    ({"query": "runs_lab", "interval_seconds": "often"}, "interval_seconds"),  # from the JSON Schema
    ({"query": "runs_lab", "cron": "0 6 * * *", "every": 5}, "every"),
])
def test_a_bad_declared_schedule_fails_the_load_naming_file_schedule_and_field(tmp_path, schedule, says):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "workspace.json").write_text(json.dumps({"name": "bad", "schedules": {"nightly": schedule}}))
    with pytest.raises(ConfigError) as caught:
        load_workspaces((RUNS_LAB, folder))
    assert f"workspace.json: schedules.nightly.{says}: " in caught.value.message
    assert caught.value.message.count("schedules.nightly") == 1, caught.value.message  # reported once
