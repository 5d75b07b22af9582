"""SLA analytics on the real stack: requests opened, decided, expired and resolved on due by a real run, the
figures read back per query, assignee and group, as an admin and as the people involved."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, group, pending_requests, person, run_detail, start_probe
from tests.test_expense_flow import wait_for

PATH = "/api/v1/analytics/requests"


def figures(client, user: str | None = None, groups: str | None = None, key: str | None = None, **params):
    headers = auth(key, user=user, groups=groups) if key else auth(user=user, groups=groups)
    response = client.get(PATH, headers=headers, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def row(answer: dict, key: str) -> dict:
    return next(r for r in answer["rows"] if r["key"] == key)


def millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def nearest(waits: list[float], q: float) -> float:
    ordered = sorted(waits)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def by_name(client, run_id: str) -> dict[str, dict]:
    return {r["name"]: r for r in run_detail(client, run_id)["requests"]}


@pytest.fixture(scope="module")
def scene(app, settings):
    """One run with six requests, settled every way a request can end; returns who is who and the requests."""
    client = app.test_client()
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    boss, aide, member, requester, team = person("boss"), person("aide"), person("member"), person("req"), group()
    run_id = start_probe(client, requester, [
        {"name": "quick", "users": [boss], "due_in_seconds": 120},
        {"name": "slow", "users": [boss]},
        {"name": "shared", "users": [boss, aide], "groups": [team]},
        {"name": "lapsed", "groups": [team], "due_in_seconds": 1.5},
        {"name": "silent", "users": [boss], "due_in_seconds": 1.5, "due_resolution": "Approve"},
        {"name": "left", "users": [boss]},
    ], parallel=True)
    opened = {r["name"]: r for r in pending_requests(client, run_id, 6)}
    assert act(client, opened["quick"]["id"], boss, resolution="Approve").status_code == 200
    time.sleep(1.0)
    assert act(client, opened["slow"]["id"], boss, resolution="Reject").status_code == 200
    assert act(client, opened["shared"]["id"], aide, resolution="Approve").status_code == 200
    wait_for(lambda: (r := by_name(client, run_id))["lapsed"]["status"] == "expired"
             and r["silent"]["status"] == "resolved")
    cancelled = client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(ADMIN_KEY))
    assert cancelled.status_code in (200, 202), cancelled.json
    wait_for(lambda: by_name(client, run_id)["left"]["status"] == "cancelled")
    until = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    return {"boss": boss, "aide": aide, "member": member, "team": team, "requests": by_name(client, run_id),
            "range": {"since": since, "until": until}}


def wait_of(request: dict) -> float:
    return (millis(request["resolved_at"]) - millis(request["created_at"])) / 1000


def test_a_person_sees_the_figures_of_their_own_requests_per_query(client, scene):
    reqs = scene["requests"]
    answer = figures(client, scene["boss"], **scene["range"])
    assert answer["scope"] == "own" and answer["group_by"] == "query"
    probe = row(answer, "approval_probe")
    # quick, slow, shared (decided), silent (resolved on due), left (cancelled); "lapsed" is the team's only
    assert {k: probe[k] for k in ("opened", "decided", "expired", "auto_resolved", "cancelled")} == {
        "opened": 5, "decided": 3, "expired": 0, "auto_resolved": 1, "cancelled": 1}
    assert probe["within_due"] == 1 and probe["past_due"] == 1 and probe["within_due_share"] == 0.5
    waits = [wait_of(reqs[n]) for n in ("quick", "slow", "shared")]
    assert probe["p50_seconds"] == pytest.approx(nearest(waits, 0.5), abs=0.002)
    assert probe["p90_seconds"] == pytest.approx(nearest(waits, 0.9), abs=0.002)
    assert probe["p90_seconds"] >= 1.0  # "slow" waited a second on purpose
    assert answer["totals"]["opened"] == 5 and answer["totals"]["overdue_now"] == 0


def test_an_admin_sees_every_assignee_and_group(client, scene):
    reqs = scene["requests"]
    by_person = figures(client, key=ADMIN_KEY, group_by="assignee", **scene["range"])
    assert by_person["scope"] == "all"
    boss, aide = row(by_person, scene["boss"]), row(by_person, scene["aide"])
    assert (boss["opened"], boss["decided"], boss["auto_resolved"], boss["cancelled"]) == (5, 3, 1, 1)
    # the aide was assigned "shared" and decided it
    assert (aide["opened"], aide["decided"], aide["p50_seconds"]) == (1, 1, pytest.approx(wait_of(reqs["shared"]),
                                                                                          abs=0.002))
    by_group = figures(client, key=ADMIN_KEY, group_by="group", **scene["range"])
    team = row(by_group, scene["team"])
    assert (team["opened"], team["decided"], team["expired"]) == (2, 1, 1)
    assert team["within_due"] == 0 and team["past_due"] == 1 and team["within_due_share"] == 0.0


def test_a_person_never_sees_anyone_elses_rows(client, scene):
    mine = figures(client, scene["boss"], group_by="assignee", **scene["range"])
    assert [r["key"] for r in mine["rows"]] == [scene["boss"]]
    member = figures(client, scene["member"], groups=scene["team"], group_by="group", **scene["range"])
    assert [r["key"] for r in member["rows"]] == [scene["team"]]
    per_query = row(figures(client, scene["member"], groups=scene["team"], **scene["range"]), "approval_probe")
    assert (per_query["opened"], per_query["decided"], per_query["expired"]) == (2, 1, 1)  # shared, lapsed
    outsider = figures(client, person("nobody"), **scene["range"])
    assert outsider["rows"] == [] and outsider["totals"]["opened"] == 0


def test_the_range_bounds_what_is_counted(client, scene):
    created = min(millis(r["created_at"]) for r in scene["requests"].values())
    before = datetime.fromtimestamp(created / 1000 - 0.001, UTC)
    answer = figures(client, key=ADMIN_KEY, group_by="assignee", since=(before - timedelta(hours=1)).isoformat(),
                     until=before.isoformat())
    assert scene["boss"] not in [r["key"] for r in answer["rows"]]
    only = figures(client, scene["boss"], query="another_query", **scene["range"])
    assert only["rows"] == [] and only["query"] == "another_query"


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until", "later than since"),
    ({"group_by": "week"}, "group_by", "one of"),
    ({"since": "yesterday"}, "since", "datetime"),
    ({"until": "2026-12-01T00:00:00"}, "until", "aware"),  # no time zone
    ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until", "366 days"),
    ({"since": "2020-01-01T00:00:00Z"}, "since", "366 days"),  # until defaults to now
    ({"since": "2999-01-01T00:00:00Z"}, "since", "earlier than until"),
    ({"query": "no spaces please"}, "query", "query name"),
    ({"bucket": "day"}, "bucket", "Unknown"),
])
def test_bad_inputs_are_422_in_the_error_shape(client, params, field, words):
    response = client.get(PATH, headers=auth(ADMIN_KEY), query_string=params)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_failed" and set(error) == {"code", "message", "details"}
    assert field in error["details"]["fields"] and words.lower() in error["message"].lower()


def test_who_asks_must_be_known(client):
    assert client.get(PATH).status_code == 401
    nameless = client.get(PATH, headers=auth())
    assert nameless.status_code in (400, 401) and "error" in nameless.json


def test_the_openapi_document_describes_the_call(client):
    operation = client.get("/openapi.json").json["paths"][PATH]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"since", "until", "query", "group_by"}
    group_by = next(p for p in operation["parameters"] if p["name"] == "group_by")
    assert group_by["schema"]["enum"] == ["query", "assignee", "group"]
    assert operation["operationId"] == "getRequestAnalytics"
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Analytics")
    assert operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
