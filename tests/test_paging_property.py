"""Property: while runs start and end under a client that pages GET /api/v1/runs, every run whose trigger was
answered before paging began is listed exactly once (read-your-writes: no wait for visibility), and no run
started after it is listed."""

from __future__ import annotations

import random
import threading
import time

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.runs_helpers import listed, trigger, user

RUNS = 24


def page_through(client, who: str, limit: int, pause: float, first_page: threading.Event | None = None) -> list[str]:
    ids, cursor = [], None
    while True:
        response = listed(client, started_by=who, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.json
        if first_page is not None:
            first_page.set()  # the listing's moment is pinned: runs triggered from now on belong to a later one
        ids += [r["id"] for r in response.json["runs"]]
        cursor = response.json["next_cursor"]
        if not cursor:
            return ids
        time.sleep(pause)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=[Phase.generate])  # each example takes seconds of real runs: no shrinking
@given(limit=st.integers(min_value=2, max_value=5), seed=st.integers(min_value=0, max_value=10**6))
def test_every_run_that_existed_when_paging_began_is_listed_exactly_once(app, limit: int, seed: int):
    client = app.test_client()
    rng = random.Random(seed)
    who = user("pager")
    # Some end at once, most end during the paging below (after 1-4 s), a few stay open.
    sleeps = [rng.choice([0, 1, 1.5, 2, 2.5, 3, 3.5, 4, 60]) for _ in range(RUNS)]
    existing = {trigger(client, who, {"sleep": s} if s else {})["run_id"] for s in sleeps}

    later: set[str] = set()
    stop, first_page = threading.Event(), threading.Event()

    def start_more() -> None:  # runs starting while the client pages belong to a later listing
        c = app.test_client()
        first_page.wait(30)  # a trigger sent before the first page was answered may belong to this listing
        while not stop.is_set() and len(later) < 10:
            later.add(trigger(c, who, {"sleep": rng.choice([0, 1])})["run_id"])
            time.sleep(0.15)

    starter = threading.Thread(target=start_more)
    starter.start()
    try:
        ids = page_through(client, who, limit, pause=4.0 / (RUNS / limit), first_page=first_page)
    finally:
        stop.set()
        starter.join(30)
    assert len(ids) == len(set(ids)), f"repeated: {[i for i in set(ids) if ids.count(i) > 1]}"
    assert existing - set(ids) == set(), f"skipped {len(existing - set(ids))} of {RUNS}"
    assert set(ids) <= existing, "a run started after paging began was listed"
