# ruff: noqa: F811  (the fixtures are imported by name, then requested as arguments)
"""Status reads answered in front of Flask (``plugin.api.runs.fast_read``) answer exactly what Flask answers: the
same status, body and headers for every kind of caller, and every request is admitted (rate limits) once."""

from __future__ import annotations

from flask import Flask

from plugin import metrics
from plugin.api.runs.fast_read import ROUTE, FastReads
from tests.conftest import ADMIN_KEY, auth
from tests.front_helpers import (  # noqa: F401  fast_app and limited_app are fixtures
    ORIGIN,
    answer,
    fast_app,
    front_ways,
    limited_app,
)
from tests.runs_helpers import ended, trigger, user

ways, limited_ways = front_ways(FastReads)


def _ended_run(app: Flask, owner: str) -> str:
    """The id of a run ``owner`` started and that has ended."""
    client = app.test_client()
    run_id = trigger(client, owner, {"value": "fast"})["run_id"]
    ended(client, run_id, owner)
    return run_id


def test_every_kind_of_read_answers_the_same_both_ways(fast_app, ways):
    fast, flask_alone, counting = ways
    owner = user("fast")
    client = fast_app.test_client()
    path = f"/api/v1/runs/{_ended_run(fast_app, owner)}"
    etag = client.get(path, headers=auth(user=owner)).headers["ETag"]
    cases = {  # name: (headers, answered in front of Flask)
        "owner": (auth(user=owner), True),
        "admin": (auth(ADMIN_KEY), True),
        "owner, If-None-Match": ({**auth(user=owner), "If-None-Match": etag}, True),
        "owner, another ETag": ({**auth(user=owner), "If-None-Match": '"other"'}, True),
        "allowed origin": ({**auth(user=owner), "Origin": ORIGIN}, True),
        "allowed origin, 304": ({**auth(user=owner), "Origin": ORIGIN, "If-None-Match": etag}, True),
        "other origin": ({**auth(user=owner), "Origin": "https://evil.example.com"}, True),
        "someone else's run": (auth(user=user("stranger")), False),
        "app key without a user": (auth(), False),
        "no key": ({}, False),
        "wrong key": ({"Authorization": "Bearer wfp_app_not-a-key"}, False),
        "bad user header": (auth(user="not an email"), False),
    }
    for n, (name, (headers, in_front)) in enumerate(cases.items()):
        before = counting.calls
        got = answer(fast, path, headers, f"10.9.0.{n + 1}")
        expected = answer(flask_alone, path, headers, f"10.9.1.{n + 1}")
        assert got == expected, name
        assert (counting.calls == before) is in_front, f"{name}: answered {'by Flask' if in_front else 'in front'}"
    for unknown in ("/api/v1/runs/no-such-run", "/api/v1/runs/a%20b", "/api/v1/runs/"):
        assert answer(fast, unknown, auth(ADMIN_KEY), "10.9.2.1") == answer(
            flask_alone, unknown, auth(ADMIN_KEY), "10.9.2.2"), unknown


def test_each_read_is_admitted_once_whichever_way_answers_it(limited_app, limited_ways):
    fast, _, counting = limited_ways
    owner, stranger = user("once"), user("once-stranger")
    client = limited_app.test_client()
    run_id = trigger(client, owner, {"value": "once"})["run_id"]  # the owner's first of 6 per minute
    ended(client, run_id)  # (read as an admin: no user limit)
    path = f"/api/v1/runs/{run_id}"
    calls = counting.calls
    assert [answer(fast, path, auth(user=owner), "10.9.3.1")[0] for _ in range(5)] == [200] * 5
    assert counting.calls == calls, "answered in front of Flask"
    _assert_429(fast.get(path, headers=auth(user=owner), environ_base={"REMOTE_ADDR": "10.9.3.1"}))
    assert counting.calls == calls + 1, "the refusal is Flask's answer, from the admission made in front"
    # a run the caller may not see: admitted in front, answered (404) by Flask, counted once each
    assert [answer(fast, path, auth(user=stranger), "10.9.3.2")[0] for _ in range(6)] == [404] * 6
    assert counting.calls == calls + 7
    _assert_429(fast.get(path, headers=auth(user=stranger), environ_base={"REMOTE_ADDR": "10.9.3.2"}))


def _assert_429(response) -> None:
    assert response.status_code == 429 and response.json["error"]["code"] == "rate_limited", response.json
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_reads_answered_in_front_are_counted_in_the_http_metrics(fast_app, ways):
    fast, _, counting = ways
    owner = user("metrics")
    run_id = _ended_run(fast_app, owner)
    counted = metrics.HTTP_REQUESTS.labels("GET", ROUTE, "200")
    before, calls = counted._value.get(), counting.calls
    assert answer(fast, f"/api/v1/runs/{run_id}", auth(user=owner), "10.9.4.1")[0] == 200
    assert counting.calls == calls and counted._value.get() == before + 1
