"""Schedules on Temporal Schedules, on the real stack: fire, pause, edit, trigger now, backfill, delete."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ADMIN_KEY, auth
from tests.runs_helpers import error_of, get_run, listed
from tests.schedule_helpers import Schedules, serve_schedules
from tests.test_expense_flow import wait_for

FAR_AWAY = "0 0 1 1 *"  # once a year: never during a test


@pytest.fixture
def schedules(client) -> Iterator[Schedules]:
    yield from serve_schedules(client)


def test_a_short_interval_schedule_fires_ordinary_runs_started_by_the_schedule(schedules, client):
    made = schedules.create(input={"value": "tick"}, interval_seconds=1)
    assert made["origin"] == "api" and made["interval_seconds"] == 1 and not made["paused"]
    assert len(made["next_runs"]) == 5
    view = schedules.runs_until(made["id"], 1)
    newest = view["recent_runs"][0]
    assert newest["status"] == "completed"
    run = get_run(client, newest["run_id"])
    assert run["started_by"] == f"schedule:{made['id']}" and run["query"] == "runs_lab"
    assert run["input"] == {"value": "tick"} and run["output"] == {"echo": "tick"}
    assert run["origin"] == {"via": "schedule", "schedule": made["id"]}
    def in_history() -> bool:  # run history filters on started_by (visibility may be a second behind)
        return newest["run_id"] in {r["id"] for r in listed(client, started_by=f"schedule:{made['id']}").json["runs"]}
    assert wait_for(in_history)


def test_a_paused_schedule_does_not_fire_until_resumed(schedules, client):
    made = schedules.create(interval_seconds=1, paused=True)
    assert made["paused"] is True
    time.sleep(3)
    assert schedules.get(made["id"])["runs_started"] == 0
    resumed = schedules.post(made["id"], "resume", {"note": "back on"})
    assert resumed["paused"] is False and resumed["note"] == "back on"
    schedules.runs_until(made["id"], 1)
    paused = schedules.post(made["id"], "pause", {"note": "maintenance window"})
    assert paused["paused"] is True and paused["note"] == "maintenance window"
    audit = client.get("/api/v1/keys/audit", headers=auth(ADMIN_KEY)).json["entries"]
    assert {"action": "schedule_paused", "changes": {"note": "maintenance window"}}.items() <= next(
        e for e in audit if e["target"] == f"schedule:{made['id']}").items()
    time.sleep(1)  # a run being started as the pause arrived is counted before we count
    before = schedules.get(made["id"])["runs_started"]
    time.sleep(3)
    assert schedules.get(made["id"])["runs_started"] == before


def test_an_edited_schedule_runs_the_new_input_and_can_switch_to_cron(schedules, client):
    made = schedules.create(input={"value": "old"}, cron=FAR_AWAY)
    edited = client.patch(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY),
                          json={"input": {"value": "new"}, "interval_seconds": 1, "cron": None})
    assert edited.status_code == 200, edited.json
    assert edited.json["input"] == {"value": "new"} and edited.json["interval_seconds"] == 1
    view = schedules.runs_until(made["id"], 1)
    assert get_run(client, view["recent_runs"][0]["run_id"])["input"] == {"value": "new"}
    to_cron = client.patch(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY),
                           json={"cron": "30 8 * * *", "time_zone": "America/New_York", "interval_seconds": None})
    assert to_cron.status_code == 200, to_cron.json
    assert to_cron.json["cron"] == "30 8 * * *" and "interval_seconds" not in to_cron.json
    assert all(datetime.fromisoformat(t).astimezone(UTC).minute == 30 for t in to_cron.json["next_runs"])


def test_trigger_now_starts_a_run_at_once(schedules, client):
    made = schedules.create(input={"value": "now"}, cron=FAR_AWAY)
    accepted = schedules.post(made["id"], "trigger", expect=202)
    assert accepted["accepted"] is True
    view = schedules.runs_until(made["id"], 1)
    assert get_run(client, view["recent_runs"][0]["run_id"])["output"] == {"echo": "now"}


def test_backfill_starts_the_runs_due_in_a_past_range(schedules):
    hour = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    # hourly, but only on yesterday's date: due in the range, never due while the test runs
    made = schedules.create(cron=f"0 * {hour.day} {hour.month} *", time_zone="UTC")
    body = {"start_at": (hour + timedelta(minutes=1)).isoformat(),
            "end_at": (hour + timedelta(hours=2, minutes=59)).isoformat()}
    schedules.post(made["id"], "backfill", body, expect=202)
    view = schedules.runs_until(made["id"], 2)
    assert view["runs_started"] == 2
    due = sorted(r["scheduled_at"] for r in view["recent_runs"])
    assert due == [(hour + timedelta(hours=n)).isoformat() for n in (1, 2)]


def test_a_deleted_schedule_is_gone_and_stops(schedules, client):
    made = schedules.create(cron=FAR_AWAY)
    assert client.delete(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    assert error_of(client.get(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY)))["code"] == "not_found"
    assert client.delete(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY)).status_code == 404
    assert schedules.post(made["id"], "trigger", expect=404)


def test_the_list_shows_each_schedule_with_its_next_runs(schedules, client):
    made = schedules.create(cron="15 7 * * 1-5", time_zone="Europe/Paris", note="weekday mornings")
    def listed_schedule():
        answer = client.get("/api/v1/schedules", headers=auth(ADMIN_KEY)).json["schedules"]
        return next((s for s in answer if s["id"] == made["id"]), None)
    found = wait_for(listed_schedule)  # schedule visibility can be a second behind
    assert found["note"] == "weekday mornings" and found["time_zone"] == "Europe/Paris"
    assert all(datetime.fromisoformat(t).astimezone(UTC).minute == 15 for t in found["next_runs"])


def test_start_end_jitter_and_overlap_are_kept_and_bound_the_next_runs(schedules):
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=3)
    made = schedules.create(interval_seconds=3600, start_at=start.isoformat(), end_at=end.isoformat(),
                            jitter_seconds=5, overlap="buffer_one")
    assert made["overlap"] == "buffer_one" and made["jitter_seconds"] == 5
    assert datetime.fromisoformat(made["start_at"]) == start and datetime.fromisoformat(made["end_at"]) == end
    runs = [datetime.fromisoformat(t) for t in made["next_runs"]]
    assert runs and all(start <= t <= end + timedelta(seconds=5) for t in runs) and len(runs) <= 4


def test_an_id_in_use_is_409(schedules):
    made = schedules.create(cron=FAR_AWAY)
    assert error_of_json(schedules.create(expect=409, id=made["id"], cron=FAR_AWAY))["code"] == "conflict"


def error_of_json(body):
    assert set(body) == {"error"}
    return body["error"]


@pytest.mark.parametrize(("body", "field"), [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "0 9 * *"}, "cron"),
    ({"cron": "0 9 * * *", "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"cron": "0 9 * * *", "interval_seconds": 60}, "cron"),
    ({}, "cron"),
    ({"interval_seconds": 0}, "interval_seconds"),
    ({"cron": "0 9 * * *", "input": {"sleep": "long"}}, "input.sleep"),
    ({"cron": "0 9 * * *", "query": "nope"}, "query"),
    ({"cron": "0 9 * * *", "overlap": "sometimes"}, "overlap"),
    ({"cron": "0 9 * * *", "start_at": "2030-01-02T00:00:00Z", "end_at": "2030-01-01T00:00:00Z"}, "end_at"),
    ({"cron": "0 9 * * *", "id": "has space"}, "id"),
])
def test_a_bad_schedule_is_422_naming_the_field(schedules, body, field):
    error = error_of_json(schedules.create(expect=422, **body))
    assert error["code"] == "validation_failed" and field in error["details"]["fields"], error


def test_a_bad_edit_or_backfill_is_422_and_the_schedule_is_unchanged(schedules, client):
    made = schedules.create(cron=FAR_AWAY)
    bad = client.patch(f"/api/v1/schedules/{made['id']}", headers=auth(ADMIN_KEY), json={"time_zone": "Nowhere/Land"})
    assert bad.status_code == 422 and "time_zone" in error_of(bad)["details"]["fields"]
    assert schedules.get(made["id"])["time_zone"] == "UTC"
    backwards = schedules.post(made["id"], "backfill", {"start_at": "2026-01-02T00:00:00Z",
                                                        "end_at": "2026-01-01T00:00:00Z"}, expect=422)
    assert "end_at" in backwards["error"]["details"]["fields"]
    every_minute = schedules.create(cron="* * * * *")
    decade = schedules.post(every_minute["id"], "backfill", {"start_at": "2010-01-01T00:00:00Z",
                                                              "end_at": "2020-01-01T00:00:00Z"}, expect=422)
    assert "more than 500 runs" in decade["error"]["message"]
    assert schedules.get(every_minute["id"])["runs_started"] == 0


def test_schedules_need_an_admin_key(client):
    assert client.get("/api/v1/schedules", headers=auth()).status_code == 403
    assert client.get("/api/v1/schedules/whatever", headers=auth(ADMIN_KEY)).status_code == 404


def test_the_openapi_document_describes_the_schedules_api(client):
    paths = client.get("/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/schedules"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/schedules/{schedule_id}"])
    for action in ("pause", "resume", "trigger", "backfill"):
        assert "post" in paths[f"/api/v1/schedules/{{schedule_id}}/{action}"]
    body = paths["/api/v1/schedules"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ScheduleCreateBody"}
