# ruff: noqa: F811  (the fixtures are imported by name, then requested as arguments)
"""Plain triggers started in front of Flask (``plugin.api.queries.fast_trigger``) answer exactly what Flask answers:
the same status, body and headers for every kind of trigger and caller; everything but the plain trigger is
answered by Flask; every trigger is admitted (rate limits) once; and once a start was asked of Temporal the
request is answered in front, never started a second time by Flask."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from werkzeug.test import Client

from plugin import metrics
from plugin.api.queries import fast_trigger
from plugin.api.queries.fast_trigger import ROUTE, FastTriggers
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
from tests.runs_helpers import get_run, listed, user

ways, limited_ways = front_ways(FastTriggers)
EXPENSE = "/api/v1/queries/submit_expense/runs"
_RUN_ID = re.compile(r"[a-z_]+-(idem-)?[0-9a-f]{32}")
SALT = "SALT"  # in a case's headers and body: replaced by a different value for each way (keys, business keys)


def expense(who: str, amount: Any = 12) -> dict[str, Any]:
    return {"input": {"employee": who, "amount": amount, "description": "taxi"}}


def post(client: Client, path: str, headers: dict[str, str], body: bytes | None, address: str,
         content_type: str | None = "application/json", salt: str = "") -> tuple[int, bytes, list]:
    """Status, body (run ids replaced by ``RUN``, ``salt`` by ``SALT``) and headers (sorted, without Date and
    Server; Content-Length of the replaced body) of a POST from ``address``, ``SALT`` in its headers and body
    replaced by ``salt``."""
    extra = {"Content-Type": content_type} if content_type else {}
    headers = {name: value.replace(SALT, salt) for name, value in {**headers, **extra}.items()}
    body = body.replace(SALT.encode(), salt.encode()) if body is not None else None
    response = client.post(path, headers=headers, data=body, environ_base={"REMOTE_ADDR": address})
    text = response.get_data(as_text=True)
    data = _RUN_ID.sub("RUN", text.replace(salt, SALT) if salt else text).encode()
    kept = sorted((k, str(len(data)) if k == "Content-Length" else v) for k, v in response.headers.items()
                  if k not in IGNORED)
    return response.status_code, data, kept


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_every_kind_of_trigger_answers_the_same_both_ways(fast_app, ways):
    fast, flask_alone, counting = ways
    who = user("fast-trigger")
    reader = create_key(fast_app.test_client(), name="reader", identity={"schemes": ["headers"],
                                                                        "headers_source": "server"},
                        capabilities=["read"])["secret"]
    deep = b'{"input": {"a": ' + b"[" * 70 + b"]" * 70 + b"}}"
    cases = {  # name: (path, headers, body, content type, answered in front of Flask)
        "plain": (EXPENSE, auth(user=who), body_of(expense(who)), "application/json", True),
        "charset": (EXPENSE, auth(user=who), body_of(expense(who)), "application/json; charset=utf-8", True),
        "admin key": (EXPENSE, auth(ADMIN_KEY), body_of(expense(who)), "application/json", True),
        "allowed origin": (EXPENSE, {**auth(user=who), "Origin": ORIGIN}, body_of(expense(who)), "application/json",
                           True),
        "other origin": (EXPENSE, {**auth(user=who), "Origin": "https://evil.example.com"}, body_of(expense(who)),
                         "application/json", True),
        "app header": (EXPENSE, {**auth(user=who), "X-Workflows-App": "Expenses"}, body_of(expense(who)),
                       "application/json", True),
        "empty Idempotency-Key": (EXPENSE, {**auth(user=who), "Idempotency-Key": " "}, body_of(expense(who)),
                                  "application/json", True),
        "bad app header": (EXPENSE, {**auth(user=who), "X-Workflows-App": "it's"}, body_of(expense(who)),
                           "application/json", False),
        "Idempotency-Key": (EXPENSE, {**auth(user=who), "Idempotency-Key": "k-SALT"}, body_of(expense(who)),
                            "application/json", False),
        "wait argument": (EXPENSE + "?wait=0", auth(user=who), body_of(expense(who)), "application/json", False),
        "unknown query": ("/api/v1/queries/no_such_query/runs", auth(user=who), body_of(expense(who)),
                          "application/json", False),
        "business key": ("/api/v1/queries/runs_lab_keyed/runs", auth(user=who),
                         body_of({"input": {"order": "o-SALT"}}), "application/json", False),
        "sync query": ("/api/v1/queries/runs_lab_sync/runs", auth(user=who), body_of({"input": {"value": "s"}}),
                       "application/json", False),
        "invalid input": (EXPENSE, auth(user=who), body_of(expense(who, amount="lots")), "application/json", False),
        "missing field": (EXPENSE, auth(user=who), body_of({"input": {"employee": who}}), "application/json", False),
        "blank optional field": ("/api/v1/queries/submit_expense_fast_clock/runs", auth(user=who),
                                 body_of({"input": {**expense(who)["input"], "cc": ""}}), "application/json",
                                 False),
        "extra body field": (EXPENSE, auth(user=who), body_of({**expense(who), "more": 1}), "application/json",
                             False),
        "input not an object": (EXPENSE, auth(user=who), body_of({"input": [1]}), "application/json", False),
        "not JSON": (EXPENSE, auth(user=who), b"{input", "application/json", False),
        "NaN": (EXPENSE, auth(user=who), b'{"input": {"employee": "a@b.c", "amount": NaN, "description": "x"}}',
                "application/json", False),
        "too deep": (EXPENSE, auth(user=who), deep, "application/json", False),
        "text body": (EXPENSE, auth(user=who), body_of(expense(who)), "text/plain", False),
        "no body": (EXPENSE, auth(user=who), None, None, False),
        "no key": (EXPENSE, {}, body_of(expense(who)), "application/json", False),
        "wrong key": (EXPENSE, {"Authorization": "Bearer wfp_app_not-a-key"}, body_of(expense(who)),
                      "application/json", False),
        "app key without a user": (EXPENSE, auth(), body_of(expense(who)), "application/json", False),
        "bad user header": (EXPENSE, auth(user="not an email"), body_of(expense(who)), "application/json", False),
        "key without trigger": (EXPENSE, auth(reader, user=who), body_of(expense(who)), "application/json", False),
    }
    for n, (name, (path, headers, body, content_type, in_front)) in enumerate(cases.items()):
        before = counting.calls
        got = post(fast, path, headers, body, f"10.8.0.{n + 1}", content_type, f"front{n}x")
        expected = post(flask_alone, path, headers, body, f"10.8.1.{n + 1}", content_type, f"flask{n}x")
        assert got == expected, name
        assert (counting.calls == before) is in_front, f"{name}: answered {'by Flask' if in_front else 'in front'}"


def test_a_run_started_in_front_is_the_run_flask_would_start(fast_app, ways):
    fast, _, counting = ways
    who = user("front-run")
    client = fast_app.test_client()
    calls = counting.calls
    response = fast.post(EXPENSE, headers={**auth(user=who), "X-Workflows-App": "Expenses"}, json=expense(who, 7))
    assert response.status_code == 202 and counting.calls == calls
    run_id = response.json["run_id"]
    assert response.json == {"run_id": run_id, "query": "submit_expense", "status": "running", "existing": False,
                             "status_url": f"/api/v1/runs/{run_id}"}
    run = get_run(client, run_id, who)
    assert (run["started_by"], run["app"], run["input"]) == (who, "Expenses", expense(who, 7)["input"])
    # listed at once (the start is recorded for run history before the answer), for its starter only
    assert run_id in [r["id"] for r in listed(client, who, key=auth()["Authorization"][7:]).json["runs"]]
    stranger = user("front-stranger")
    assert run_id not in [r["id"] for r in listed(client, stranger, key=auth()["Authorization"][7:]).json["runs"]]


def test_a_trigger_mounted_under_a_prefix_answers_its_status_url_under_it(fast_app, ways):
    fast, flask_alone, _ = ways
    who = user("prefix")
    for client in (fast, flask_alone):
        response = client.post(EXPENSE, headers=auth(user=who), json=expense(who),
                               base_url="http://localhost/workflows")  # SCRIPT_NAME /workflows
        assert response.status_code == 202
        assert response.json["status_url"] == f"/workflows/api/v1/runs/{response.json['run_id']}"


def test_each_trigger_is_admitted_once_whichever_way_answers_it(limited_app, limited_ways):
    fast, _, counting = limited_ways
    who = user("once")
    calls = counting.calls
    assert [fast.post(EXPENSE, headers=auth(user=who), json=expense(who)).status_code for _ in range(3)] == [202] * 3
    assert counting.calls == calls, "started in front of Flask"
    # admitted in front, refused (422) by Flask: counted once each
    bad = [fast.post(EXPENSE, headers=auth(user=who), json=expense(who, "x")).status_code for _ in range(3)]
    assert bad == [422] * 3 and counting.calls == calls + 3
    refused = fast.post(EXPENSE, headers=auth(user=who), json=expense(who))
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited", refused.json
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert counting.calls == calls + 4, "the refusal is Flask's answer, from the admission made in front"


def test_triggers_started_in_front_are_counted_in_the_http_metrics(fast_app, ways):
    fast, _, counting = ways
    who = user("metrics")
    counted = metrics.HTTP_REQUESTS.labels("POST", ROUTE, "202")
    before, calls = counted._value.get(), counting.calls
    assert fast.post(EXPENSE, headers=auth(user=who), json=expense(who)).status_code == 202
    assert counting.calls == calls and counted._value.get() == before + 1


@pytest.mark.parametrize(("error", "status", "code"), [
    (ServiceUnavailable("Temporal is unavailable; try again in a moment", {"service": "temporal"}), 503,
     "service_unavailable"),
    (RuntimeError("a bug"), 500, "internal_error"),
])
def test_a_start_that_fails_is_answered_in_front_and_never_asked_again(fast_app, ways, monkeypatch, error, status,
                                                                       code):
    fast, _, counting = ways
    who = user("fails")
    asked: list[str] = []

    def failing_start(query, data, run_id, started_by, **kwargs):
        asked.append(run_id)
        raise error
    monkeypatch.setattr(fast_trigger.triggering, "start", failing_start)
    calls = counting.calls
    response = fast.post(EXPENSE, headers={**auth(user=who), "Origin": ORIGIN}, json=expense(who))
    assert response.status_code == status and response.json["error"]["code"] == code, response.json
    assert "a bug" not in response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN and response.headers["Vary"] == "Origin"
    assert len(asked) == 1 and counting.calls == calls, "asked of Temporal once, and not handed on to Flask"
