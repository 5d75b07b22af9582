"""Hostile input is a 4xx in the error shape, never a 500 or a message showing internals."""

from __future__ import annotations

import base64
import json

import pytest

from plugin.api import create_app
from plugin.api.http.input_limits import MAX_JSON_DEPTH, json_depth_exceeds
from plugin.embedded.processes import free_port
from plugin.gateway_ops.listing import RunFilters
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.runs_helpers import error_of, listed

INTERNALS = ("Traceback", "redis.sock", "ZREVRANGEBYSCORE", "zrevrangebyscore", "127.0.0.1:", "Error ", "File \"")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_scan_counts_brackets_outside_strings_only():
    assert not json_depth_exceeds(b'{"a": "' + b"[" * 500 + b'"}', 64)
    assert not json_depth_exceeds(nested(64).encode(), 64)
    assert json_depth_exceeds(nested(65).encode(), 64)
    assert json_depth_exceeds(b'{"a": "\\"", "b": ' + nested(70).encode() + b"}", 64)


@pytest.mark.parametrize("path", ["/api/v1/queries/submit_expense/runs", "/api/v1/runs/bulk-cancel",
                                  "/api/v1/requests/x:0123456789ab-1/resolve"])
def test_json_nested_a_thousand_deep_is_422_not_500(client, path):
    body = '{"input": ' + nested(975) + "}"
    response = client.post(path, headers={**auth(ADMIN_KEY), "Content-Type": "application/json"}, data=body)
    assert response.status_code == 422, response.data[:300]
    assert str(MAX_JSON_DEPTH) in error_of(response)["message"]


def test_a_decision_payload_nested_past_the_limit_is_422_and_the_request_stays_pending(client):
    requester, boss = person("req"), person("boss")
    run_id = start_probe(client, requester, [{"name": "Deep", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    payload = {"note": json.loads(nested(MAX_JSON_DEPTH + 10))}
    response = act(client, request["id"], boss, resolution="Approve", payload=payload)
    assert response.status_code == 422, response.json
    ok = act(client, request["id"], boss, resolution="Approve", payload={"note": json.loads(nested(5))})
    assert ok.status_code in (200, 422), ok.json  # within the limit: the workflow's own form rules answer


def _cursor(**fields) -> str:
    data = {"filters": RunFilters().digest(), "as_of": 1_700_000_000 * 10**9, "phase": "open", "start": None,
            "close": None, "seen": [], **fields}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize("fields", [{"as_of": 10**30}, {"as_of": -5}, {"as_of": "x"}, {"start": "1"},
                                    {"close": 10**30}, {"as_of": True}, {"seen": "abc"}, {"seen": [1]},
                                    {"phase": "closed", "close": -1}, {"extra": 1}])
def test_a_crafted_run_cursor_is_a_4xx_naming_the_cursor(client, fields):
    response = listed(client, cursor=_cursor(**fields))
    assert response.status_code == 422, response.json
    assert "cursor" in error_of(response)["details"]["fields"]


@pytest.mark.parametrize("cursor", ["١٢:x", "12:\x01", "1e5:x", "-1:x", "99999999999999999999:x"])
def test_a_crafted_inbox_cursor_is_a_4xx_without_internals(client, cursor):
    response = client.get("/api/v1/requests", headers=auth(user=person()), query_string={"cursor": cursor})
    assert response.status_code == 422, response.json
    assert not any(word in json.dumps(response.json) for word in INTERNALS)


def test_redis_errors_do_not_show_commands_or_addresses(settings):
    app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        response = app.test_client().get("/api/v1/requests", headers=auth(user=person()))
        assert response.status_code == 503
        assert not any(word in json.dumps(response.json) for word in INTERNALS), response.json
    finally:
        app.extensions["workflows"].gateway.close()


def test_trace_and_other_methods_are_405_with_allow(client):
    for method in ("TRACE", "DELETE", "PUT"):
        response = client.open("/api/v1/runs", method=method, headers=auth(ADMIN_KEY))
        assert response.status_code == 405
        assert error_of(response)["code"] == "method_not_allowed"
        assert "GET" in response.headers["Allow"]


def test_bulk_calls_need_a_body(client):
    for path in ("/api/v1/runs/bulk-cancel", "/api/v1/runs/bulk-retry"):
        response = client.post(path, headers=auth(ADMIN_KEY))
        assert response.status_code == 400, response.json
        assert error_of(response)["code"] == "bad_request"


def test_413_names_the_limit_and_the_setting(client, settings):
    body = json.dumps({"input": {"x": "a" * (settings.max_body_bytes + 10)}})
    response = client.post("/api/v1/queries/submit_expense/runs", headers=auth(user=person()), data=body,
                           content_type="application/json")
    assert response.status_code == 413
    message = error_of(response)["message"]
    assert str(settings.max_body_bytes) in message and "WORKFLOWS_MAX_BODY_BYTES" in message
