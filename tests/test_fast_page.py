# ruff: noqa: F811  (the fixtures are imported by name, then requested as arguments)
"""Inbox pages answered in front of Flask (``plugin.api.requests.fast_page``) answer exactly what Flask answers: the
same status, body and headers for every kind of caller and query, and every request is admitted (rate limits)
once."""

from __future__ import annotations

import uuid

from flask import Flask

from plugin import metrics
from plugin.api.requests.fast_page import PATH, FastPages
from plugin.models import Decision, HumanRequest, SlaApplied
from plugin.store.inbox import Inbox
from tests.absence_helpers import set_absence
from tests.conftest import ADMIN_KEY, auth
from tests.front_helpers import (  # noqa: F401  fast_app and limited_app are fixtures
    ORIGIN,
    answer,
    fast_app,
    front_ways,
    limited_app,
)
from tests.requests_helpers import person

ways, limited_ways = front_ways(FastPages)


def _seed(app: Flask, owner: str, count: int = 5) -> None:
    """``count`` requests of ``owner`` with an SLA: pending ones and a resolved one with its decision."""
    box: Inbox = app.extensions["workflows"].inbox
    tag = uuid.uuid4().hex[:8]
    for i in range(count):
        decided = i == count - 1
        box.put(HumanRequest(
            id=f"fast-{tag}-{i}:000000000000-1", run_id=f"fast-{tag}-{i}", query="probe", name="Approve expense",
            message=f"Expense {i}", metadata={"amount": i, "who": "Zoë"}, resolutions=["Approve", "Reject"],
            users=[owner], groups=[], required_approvals=1, rejecting_resolutions=["Reject"],
            allow_self_approval=False, requester="r@example.com", created_at=f"2026-12-07T10:00:0{i}+00:00",
            sla=SlaApplied(policy="two-days", calendar="business", time_zone="Europe/Paris",
                           due_at="2026-12-08T10:00:00+00:00"),
            status="resolved" if decided else "pending", resolution="Approve" if decided else None,
            decisions=[Decision(actor="ann@example.com", resolution="Approve", at="2026-12-07T10:00:09+00:00",
                                comment="ok", payload={"amount": 12.5, "note": "é"})] if decided else []))


def test_every_kind_of_page_answers_the_same_both_ways(fast_app, ways):
    fast, behind, counting = ways
    owner = person("fast-page")
    _seed(fast_app, owner)
    first = fast_app.test_client().get(f"{PATH}?limit=2", headers=auth(user=owner))
    etag, cursor = first.headers["ETag"], first.json["next_cursor"]
    assert cursor and len(first.json["requests"]) == 2
    cases = {  # name: (query, headers, answered in front of Flask)
        "owner": ("", auth(user=owner), True),
        "a page and a cursor": ("?limit=2", auth(user=owner), True),
        "the next page": (f"?limit=2&cursor={cursor}", auth(user=owner), True),
        "as Appsmith asks": ("?status=pending&cursor=&name=&limit=50", auth(user=owner), True),
        "resolved": ("?status=resolved", auth(user=owner), True),
        "If-None-Match": ("?limit=2", {**auth(user=owner), "If-None-Match": etag}, True),
        "another ETag": ("?limit=2", {**auth(user=owner), "If-None-Match": '"other"'}, True),
        "allowed origin": ("", {**auth(user=owner), "Origin": ORIGIN}, True),
        "allowed origin, 304": ("?limit=2", {**auth(user=owner), "Origin": ORIGIN, "If-None-Match": etag}, True),
        "other origin": ("", {**auth(user=owner), "Origin": "https://evil.example.com"}, True),
        "admin without a user": ("", auth(ADMIN_KEY), True),
        "someone with nothing": ("", auth(user=person("empty")), True),
        "a name filter": ("?name=Approve%20expense", auth(user=owner), False),
        "a bad limit": ("?limit=0", auth(user=owner), False),
        "an unknown argument": ("?sort=asc", auth(user=owner), False),
        "app key without a user": ("", auth(), False),
        "no key": ("", {}, False),
        "wrong key": ("", {"Authorization": "Bearer wfp_app_not-a-key"}, False),
        "bad user header": ("", auth(user="not an email"), False),
    }
    for n, (name, (query, headers, in_front)) in enumerate(cases.items()):
        before = counting.calls
        got = answer(fast, PATH + query, headers, f"10.8.0.{n + 1}")
        expected = answer(behind, PATH + query, headers, f"10.8.1.{n + 1}")
        assert got == expected, name
        assert (counting.calls == before) is in_front, f"{name}: answered {'by Flask' if in_front else 'in front'}"


def test_each_page_is_admitted_once_whichever_way_answers_it(limited_ways):
    fast, _, counting = limited_ways
    reader = person("once")
    calls = counting.calls
    assert [answer(fast, PATH, auth(user=reader), "10.8.3.1")[0] for _ in range(3)] == [200] * 3
    assert counting.calls == calls, "answered in front of Flask"
    assert [answer(fast, f"{PATH}?name=x", auth(user=reader), "10.8.3.1")[0] for _ in range(3)] == [200] * 3
    assert counting.calls == calls + 3, "a name filter: Flask's"
    refused = fast.get(PATH, headers=auth(user=reader), environ_base={"REMOTE_ADDR": "10.8.3.1"})
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited", refused.json
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert counting.calls == calls + 4, "the refusal is Flask's answer, from the admission made in front"


def test_a_delegates_page_is_read_by_flask_and_admitted_once(limited_app, limited_ways):
    fast, _, counting = limited_ways
    away, delegate = person("away"), person("delegate")
    _seed(limited_app, away, 2)
    client = limited_app.test_client()
    set_absence(client, away, delegate)  # the absent person's first request of 6 per minute
    calls = counting.calls
    pages = [fast.get(PATH, headers=auth(user=delegate), environ_base={"REMOTE_ADDR": "10.8.5.1"}) for _ in range(6)]
    assert [p.status_code for p in pages] == [200] * 6, "six of six per minute: each counted once"
    assert pages[0].json["requests"][0]["offered_for"] == away
    assert counting.calls == calls + 6, "admitted in front, then answered by Flask (it offers the absent's requests)"
    assert fast.get(PATH, headers=auth(user=delegate), environ_base={"REMOTE_ADDR": "10.8.5.1"}).status_code == 429


def test_pages_answered_in_front_are_counted_in_the_http_metrics(ways):
    fast, _, counting = ways
    counted = metrics.HTTP_REQUESTS.labels("GET", PATH, "200")
    before, calls = counted._value.get(), counting.calls
    assert answer(fast, PATH, auth(user=person("metrics")), "10.8.4.1")[0] == 200
    assert counting.calls == calls and counted._value.get() == before + 1
