# ruff: noqa: F811  (the fixtures are imported by name, then requested as arguments)
"""Decisions made in front of Flask (``plugin.api.requests.fast_resolve``) answer exactly what Flask answers: the
same status, body and headers for every kind of decision, refusal and caller; what is not a plain decision is
answered by Flask; every decision is admitted (rate limits) once; and once a decision is under way it is answered
in front, never sent a second time by Flask."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from plugin import metrics
from plugin.api.requests import fast_resolve
from plugin.api.requests.fast_resolve import ROUTE, FastResolves
from plugin.errors import ServiceUnavailable
from tests.conftest import ADMIN_KEY, auth
from tests.front_helpers import (  # noqa: F401  fast_app and limited_app are fixtures
    IGNORED,
    ORIGIN,
    fast_app,
    front_ways,
    limited_app,
)
from tests.identity_helpers import create_key
from tests.requests_helpers import pending_requests, person, start_probe

ways, limited_ways = front_ways(FastResolves)
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")
_DIGEST = re.compile(r"[0-9a-f]{64}")  # a decision's evidence digest (it covers the request id)


def waiting(app: Flask, requester: str, assignee: str) -> tuple[str, str]:
    """(run id, request id) of a new run waiting on ``assignee``."""
    client = app.test_client()
    run_id = start_probe(client, requester, [{"name": "Approve", "users": [assignee]}])
    return run_id, pending_requests(client, run_id)[0]["id"]


def decide(client: Client, request_id: str, headers: dict[str, str], body: bytes | None, address: str,
           content_type: str | None = "application/json", query: str = "") -> tuple[int, str, list]:
    """Status, body and headers (sorted, without Date and Server) of a decision from ``address``."""
    extra = {"Content-Type": content_type} if content_type else {}
    response = client.post(f"/api/v1/requests/{request_id}/resolve{query}", headers={**headers, **extra},
                           data=body, environ_base={"REMOTE_ADDR": address})
    kept = sorted((k, v) for k, v in response.headers.items() if k not in IGNORED and k != "Content-Length")
    return response.status_code, response.get_data(as_text=True), kept


def same_but_ids(text: str, run_id: str, request_id: str) -> str:
    """An answer with its run and request ids and its times replaced, so the answers of two runs compare."""
    return _DIGEST.sub("DIGEST", _STAMP.sub("TIME", text.replace(request_id, "REQUEST").replace(run_id, "RUN")))


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_every_kind_of_decision_answers_the_same_both_ways(fast_app, ways):
    fast, flask_alone, counting = ways
    requester, boss, other = person("requester"), person("boss"), person("other")
    reader = create_key(fast_app.test_client(), name="reader", identity={"schemes": ["headers"],
                                                                        "headers_source": "server"},
                        capabilities=["read"])["secret"]
    browser = create_key(fast_app.test_client(), name="browser", identity={"schemes": ["headers"]})["secret"]
    approve = body_of({"resolution": "Approve"})
    cases = {  # name: (headers, body, content type, query string, answered in front of Flask, decided before)
        "approve": (auth(user=boss), approve, "application/json", "", True, False),
        "with comment and payload": (auth(user=boss), body_of({"resolution": "Reject", "comment": "no receipt",
                                                               "payload": {"code": 7}}), "application/json", "",
                                     True, False),
        "allowed origin": ({**auth(user=boss), "Origin": ORIGIN}, approve, "application/json", "", True, False),
        "the same decision again": (auth(user=boss), approve, "application/json", "", True, True),
        "another decision after it": (auth(user=boss), body_of({"resolution": "Reject"}), "application/json", "",
                                      True, True),
        "not an assignee": (auth(user=other), approve, "application/json", "", True, False),
        "resolution not offered": (auth(user=boss), body_of({"resolution": "Maybe"}), "application/json", "", True,
                                   False),
        "no resolution": (auth(user=boss), body_of({"comment": "x"}), "application/json", "", False, False),
        "unknown field": (auth(user=boss), body_of({"resolution": "Approve", "extra": 1}), "application/json", "",
                          False, False),
        "not JSON": (auth(user=boss), b"{resolution", "application/json", "", False, False),
        "text body": (auth(user=boss), approve, "text/plain", "", False, False),
        "query string": (auth(user=boss), approve, "application/json", "?x=1", False, False),
        "no key": ({}, approve, "application/json", "", False, False),
        "app key without a user": (auth(), approve, "application/json", "", False, False),
        "admin key without a user": (auth(ADMIN_KEY), approve, "application/json", "", False, False),
        "key without decide": (auth(reader, user=boss), approve, "application/json", "", False, False),
        "browser-filled user header": (auth(browser, user=boss), approve, "application/json", "", False, False),
    }
    for n, (name, (headers, body, content_type, query, in_front, decided)) in enumerate(cases.items()):
        answers = []
        for way, address in ((fast, f"10.7.0.{n + 1}"), (flask_alone, f"10.7.1.{n + 1}")):
            run_id, request_id = waiting(fast_app, requester, boss)
            if decided:
                assert decide(flask_alone, request_id, auth(user=boss), approve, address)[0] == 200
            before = counting.calls
            status, text, headers_got = decide(way, request_id, headers, body, address, content_type, query)
            answers.append((status, same_but_ids(text, run_id, request_id), headers_got))
            if way is fast:
                assert (counting.calls == before) is in_front, f"{name}: by {'Flask' if in_front else 'the front'}"
        assert answers[0] == answers[1], name
    # a request that does not exist: refused under way, in front, as Flask refuses it
    before = counting.calls
    assert decide(fast, "no-such-request", auth(user=boss), approve, "10.7.2.1") == decide(
        flask_alone, "no-such-request", auth(user=boss), approve, "10.7.2.2")
    assert counting.calls == before


def test_each_decision_is_admitted_once_whichever_way_answers_it(limited_app, limited_ways):
    fast, _, counting = limited_ways
    requester, boss = person("once-requester"), person("once-boss")
    requests = [waiting(limited_app, requester, boss)[1] for _ in range(5)]
    calls = counting.calls
    approve = body_of({"resolution": "Approve"})
    assert [decide(fast, r, auth(user=boss), approve, "10.7.3.1")[0] for r in requests[:3]] == [200] * 3
    assert counting.calls == calls, "decided in front of Flask"
    # answered (422) by Flask, admitted there: counted once each
    refused = [decide(fast, requests[3], auth(user=boss), body_of({"comment": "x"}), "10.7.3.1")[0] for _ in range(3)]
    assert refused == [422] * 3 and counting.calls == calls + 3
    status, text, headers = decide(fast, requests[4], auth(user=boss), approve, "10.7.3.1")
    assert status == 429 and json.loads(text)["error"]["code"] == "rate_limited", text
    assert 1 <= int(dict(headers)["Retry-After"]) <= 60
    assert counting.calls == calls + 4, "the refusal is Flask's answer, from the admission joined to the lock"


def test_decisions_made_in_front_are_counted_in_the_http_metrics(fast_app, ways):
    fast, _, counting = ways
    boss = person("metrics-boss")
    _, request_id = waiting(fast_app, person("metrics"), boss)
    counted = metrics.HTTP_REQUESTS.labels("POST", ROUTE, "200")
    before, calls = counted._value.get(), counting.calls
    assert decide(fast, request_id, auth(user=boss), body_of({"resolution": "Approve"}), "10.7.4.1")[0] == 200
    assert counting.calls == calls and counted._value.get() == before + 1


@pytest.mark.parametrize(("error", "status", "code"), [
    (ServiceUnavailable("Temporal is unavailable; try again in a moment", {"service": "temporal"}), 503,
     "service_unavailable"),
    (RuntimeError("a bug"), 500, "internal_error"),
])
def test_a_decision_that_fails_under_way_is_answered_in_front_and_never_sent_again(fast_app, ways, monkeypatch,
                                                                                    error, status, code):
    fast, _, counting = ways
    boss = person("fails-boss")
    _, request_id = waiting(fast_app, person("fails"), boss)
    sent: list[str] = []

    def failing(update, first_try=None):
        sent.append(update.request_id)
        raise error
    monkeypatch.setattr(fast_resolve, "resolve_one", failing)
    calls = counting.calls
    got_status, text, headers = decide(fast, request_id, {**auth(user=boss), "Origin": ORIGIN},
                                       body_of({"resolution": "Approve"}), "10.7.5.1")
    assert got_status == status and json.loads(text)["error"]["code"] == code, text
    assert "a bug" not in text
    assert dict(headers)["Access-Control-Allow-Origin"] == ORIGIN and dict(headers)["Vary"] == "Origin"
    assert sent == [request_id] and counting.calls == calls, "under way once, and not handed on to Flask"
