"""Each error code's ``details`` are defined once (plugin/api/http/error_details.py), documented in the OpenAPI
document, and the API keeps to them."""

from __future__ import annotations

import uuid

import pytest

from plugin.api.http.error_details import ERROR_DETAILS, details_problems
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.runs_helpers import error_of

STATUS_OF = {"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "conflict": 409,
             "validation_failed": 422, "run_failed": 422}


def follows_its_definition(response, code: str) -> dict:
    error = error_of(response)
    assert error["code"] == code and response.status_code == STATUS_OF[code], (response.status_code, error)
    assert details_problems(code, error["details"]) == [], error
    return error


def post(client, path: str, body=None, headers=None, **kwargs):
    return client.post(path, json=body, headers=headers or auth(user="t@example.com"), **kwargs)


def test_the_api_keeps_to_the_details_of_each_code(client):
    lab = "/api/v1/queries/runs_lab/runs"
    follows_its_definition(client.post(lab, data="{", headers={**auth(user="t@example.com"),
                                                               "Content-Type": "application/json"}), "bad_request")
    follows_its_definition(client.get("/api/v1/queries"), "unauthorized")
    follows_its_definition(client.get("/api/v1/runs?started_by=x@example.com", headers=auth(user="t@example.com")),
                           "forbidden")
    follows_its_definition(post(client, "/api/v1/queries/nope/runs", {"input": {}}), "not_found")
    invalid = follows_its_definition(post(client, lab, {"input": {"sleep": "long"}}), "validation_failed")
    assert list(invalid["details"]["fields"]) == ["input.sleep"]
    key = {**auth(user="t@example.com"), "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    assert post(client, lab, {"input": {"value": "a"}}, key).status_code == 202
    reused = follows_its_definition(post(client, lab, {"input": {"value": "b"}}, key), "validation_failed")
    assert reused["details"]["header"] == "Idempotency-Key" and "code" not in reused["details"]
    failed = follows_its_definition(post(client, "/api/v1/queries/runs_lab_sync/runs", {"input": {"fail": "x"}}),
                                    "run_failed")
    run_id = failed["details"]["run_id"]
    assert post(client, f"/api/v1/runs/{run_id}/retry", {}, auth(ADMIN_KEY)).status_code in (200, 202)
    follows_its_definition(post(client, f"/api/v1/runs/{run_id}/cancel", {}, auth(ADMIN_KEY)), "conflict")


def test_a_refused_proof_names_its_reason_and_header_as_defined(settings):
    """An app key that needs a user token, called without one: 401 with details.reason and details.header."""
    from tests.conftest import serve_app

    oidc = {"issuer": "https://login.example.com", "audiences": ["workflows"],
            "jwks_url": "https://login.example.com/jwks"}
    for app in serve_app(settings):
        client = app.test_client()
        made = client.post("/api/v1/keys", headers=auth(ADMIN_KEY), json={
            "name": f"oidc-{uuid.uuid4().hex[:6]}", "scope": "app", "identity": {"schemes": ["oidc"], "oidc": oidc}})
        assert made.status_code == 201, made.json
        refused = follows_its_definition(client.get("/api/v1/requests", headers=auth(made.json["secret"])),
                                         "unauthorized")
        assert refused["details"] == {"reason": "missing_token", "header": "X-Workflows-Identity"}


def test_a_refused_resolution_lists_the_allowed_ones_under_fields_and_allowed(client):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Details", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    error = follows_its_definition(act(client, request["id"], boss, resolution="Maybe"), "validation_failed")
    assert error["details"] == {"fields": {"resolution": ["Must be one of: Approve, Reject."]},
                                "allowed": ["Approve", "Reject"]}
    assert act(client, request["id"], boss, resolution="Approve").status_code == 200
    late = follows_its_definition(act(client, request["id"], boss, resolution="Reject"), "conflict")
    assert late["details"]["decided_by"] == boss


@pytest.mark.parametrize(("code", "details"), [
    ("validation_failed", {"field": "resolution", "allowed": ["A"]}),
    ("validation_failed", {"fields": {"x": ["bad"]}, "code": "nested"}),
    ("service_unavailable", {}),
    ("conflict", {"status": 3}),
])
def test_details_that_break_their_definition_are_caught(code, details):
    assert details_problems(code, details)


def test_the_openapi_document_shows_the_details_of_each_code(client):
    body = client.get("/openapi.json").json["components"]["schemas"]["ErrorBody"]
    assert body["properties"]["details"]["x-details-by-code"] == ERROR_DETAILS
    assert set(body["required"]) == {"code", "message", "details"}
