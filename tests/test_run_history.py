"""GET /runs: filters, newest first, a cursor that never skips or repeats, who sees what, bad filters."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from plugin.gateway_ops.listing import RECENT_WINDOW
from tests.conftest import ADMIN_KEY, APP_KEY, auth
from tests.runs_helpers import ended, error_of, listed, trigger, user
from tests.test_expense_flow import wait_for


def all_pages(client, limit: int, **params) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        response = listed(client, **params, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.json
        pages.append(response.json["runs"])
        cursor = response.json["next_cursor"]
        if not cursor:
            return pages


def test_pages_cover_every_run_once_newest_first(client):
    who = user()
    ids = [trigger(client, who, {"value": str(i)})["run_id"] for i in range(7)]
    for run_id in ids:
        ended(client, run_id, who)
    wait_for(lambda: len(listed(client, started_by=who, limit=100).json["runs"]) == 7)
    pages = all_pages(client, 3, started_by=who)
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [r["id"] for p in pages for r in p]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 7
    starts = [r["started_at"] for p in pages for r in p]
    assert starts == sorted(starts, reverse=True), "runs started in the recent window: newest start first"
    time.sleep(RECENT_WINDOW.total_seconds())  # then they are ended runs of a listing: most recently ended first
    ends = [r["ended_at"] for p in all_pages(client, 3, started_by=who) for r in p]
    assert ends == sorted(ends, reverse=True) and len(ends) == 7, "ended runs: most recently ended first"


def test_runs_that_end_while_paging_are_neither_skipped_nor_repeated(client):
    who = user()
    short = [trigger(client, who, {"sleep": 60})["run_id"] for _ in range(3)]
    done = [trigger(client, who, {})["run_id"] for _ in range(2)]
    for run_id in done:
        ended(client, run_id, who)
    wait_for(lambda: len(listed(client, started_by=who, limit=100).json["runs"]) == 5)
    # Past the recent window (runs started in it are listed by start time, whatever their status), the open
    # runs come first.
    time.sleep(RECENT_WINDOW.total_seconds())
    first = listed(client, started_by=who, limit=2).json
    assert [r["status"] for r in first["runs"]] == ["running", "running"], "open runs come first"
    for run_id in short:  # every open run ends between the pages
        assert client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(user=who), json={}).status_code == 200
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = listed(client, started_by=who, limit=2, cursor=cursor).json
        rest += page["runs"]
        cursor = page["next_cursor"]
    seen = [r["id"] for r in first["runs"] + rest]
    assert sorted(seen) == sorted(short + done) and len(seen) == 5


def test_filters_by_status_query_and_time(client):
    who = user()
    ok = trigger(client, who, {"value": "x"})["run_id"]
    bad = trigger(client, who, {"fail": "nope"})["run_id"]
    sleeping = trigger(client, who, {"sleep": 30})["run_id"]
    ended(client, ok, who), ended(client, bad, who)

    def ids(**params):
        response = listed(client, started_by=who, **params)
        assert response.status_code == 200, response.json
        return {r["id"] for r in response.json["runs"]}
    wait_for(lambda: ids(status="failed") == {bad} and ids(status="completed") == {ok}
             and ids(status="running") == {sleeping})
    assert ids(query="runs_lab") == {ok, bad, sleeping} and ids(query="submit_expense") == set()
    assert ids(workflow="runs_lab") == {ok, bad, sleeping}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ids(since=later) == set() and ids(until=later) == {ok, bad, sleeping}


def test_waiting_runs_are_told_apart_from_running_ones(client):
    who = user()
    run_id = client.post("/api/v1/queries/submit_expense/runs", headers={"Authorization": f"Bearer {APP_KEY}",
                                                                         "X-Workflows-User": who},
                         json={"input": {"employee": who, "amount": 900, "description": "Desk"}}).json["run_id"]
    wait_for(lambda: [r["id"] for r in listed(client, started_by=who, status="waiting").json["runs"]] == [run_id])
    assert listed(client, started_by=who, status="running").json["runs"] == []


def test_a_user_sees_only_runs_they_started(client):
    me, other = user(), user()
    mine = trigger(client, me, {})["run_id"]
    trigger(client, other, {})
    wait_for(lambda: [r["id"] for r in listed(client, me, key=APP_KEY).json["runs"]] == [mine])
    refused = listed(client, me, key=APP_KEY, started_by=other)
    assert refused.status_code == 403 and error_of(refused)["details"]["field"] == "started_by"
    assert listed(client, key=APP_KEY).status_code == 400, "an app key must name the user"
    assert listed(client, key=ADMIN_KEY, started_by=other).status_code == 200


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "sleeping"}, "status"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2024-01-01T00:00:00"}, "since"),
    ({"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"query": "a'b"}, "query"),
    ({"started_by": "x' OR '1'='1"}, "started_by"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"colour": "red"}, "colour"),
])
def test_bad_filters_are_422_naming_the_field(client, params, field):
    response = listed(client, **params)
    assert response.status_code == 422, response.json
    assert field in error_of(response)["details"]["fields"]


def test_a_cursor_only_works_with_the_filters_that_made_it(client):
    who = user()
    for _ in range(3):
        trigger(client, who, {})
    wait_for(lambda: len(listed(client, started_by=who).json["runs"]) == 3)
    cursor = listed(client, started_by=who, limit=1).json["next_cursor"]
    response = listed(client, started_by=who, status="completed", limit=1, cursor=cursor)
    assert response.status_code == 422 and "cursor" in error_of(response)["details"]["fields"]
