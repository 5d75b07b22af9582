"""Read-your-writes in run history: a run whose trigger was answered before the listing began is on its first
pages, each run exactly once, although visibility trails the truth (the API merges its own record of the runs
it started lately into the listing's recent phase)."""

from __future__ import annotations

from collections import Counter

from tests.conftest import ADMIN_KEY, APP_KEY
from tests.runs_helpers import listed, trigger, user


def every_page(client, limit: int, **params) -> list[dict]:
    runs, cursor = [], None
    while True:
        response = listed(client, **params, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.json
        runs += response.json["runs"]
        cursor = response.json["next_cursor"]
        if not cursor:
            return runs


def test_runs_triggered_just_before_a_listing_are_all_listed_once(client):
    who = user("burst")
    ids = [trigger(client, who, {"sleep": 30} if i % 2 else {})["run_id"] for i in range(120)]
    runs = every_page(client, 25, started_by=who)  # at once: visibility has not caught up
    counts = Counter(r["id"] for r in runs)
    missing = set(ids) - set(counts)
    assert not missing, f"{len(missing)} of 120 runs just triggered are not listed"
    assert [i for i, n in counts.items() if n > 1] == [], "a run is listed twice"
    assert set(counts) == set(ids)
    assert [r["id"] for r in runs[:10]] == ids[::-1][:10], "the newest first, by start"
    for run in runs:
        assert run["started_by"] == who and run["query"] == "runs_lab" and run["status"] in (
            "running", "completed"), run


def test_the_newest_run_is_on_the_first_page_for_its_starter_and_for_an_admin(client):
    who = user("mine")
    run_id = trigger(client, who, {"sleep": 30})["run_id"]
    mine = listed(client, who=who, key=APP_KEY, limit=5).json["runs"]
    assert run_id in [r["id"] for r in mine]
    everyone = listed(client, key=ADMIN_KEY, limit=50).json["runs"]
    assert run_id in [r["id"] for r in everyone]
    other = listed(client, who=user("other"), key=APP_KEY, limit=50).json["runs"]
    assert run_id not in [r["id"] for r in other], "a user sees only the runs they started"


def test_a_status_filter_applies_to_recent_runs(client):
    who = user("status")
    sleeping = trigger(client, who, {"sleep": 30})["run_id"]
    completed = listed(client, started_by=who, status="completed", limit=10).json["runs"]
    assert sleeping not in [r["id"] for r in completed]
    running = listed(client, started_by=who, status="running", limit=10).json["runs"]
    assert [r["id"] for r in running] == [sleeping]
