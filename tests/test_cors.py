"""CORS: allowed origins get the headers, others are refused, preflights need no key, null only when listed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from plugin.config import Settings
from plugin.errors import ConfigError
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app

ALLOWED = "https://apps.example.com"


@pytest.fixture(scope="module")
def cors_app(settings: Settings) -> Iterator[Flask]:
    yield from serve_app(settings.with_overrides(cors_origins=(ALLOWED, "null")))


def preflight(client, origin: str, path: str = "/api/v1/requests", method: str = "POST"):
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, x-workflows-user, idempotency-key"})


@pytest.mark.parametrize("origin", [ALLOWED, "null"])
def test_a_preflight_from_a_listed_origin_is_answered_without_a_key(cors_app, origin):
    answer = preflight(cors_app.test_client(), origin, "/api/v1/queries/submit_expense/runs")
    assert answer.status_code == 204 and not answer.data and "Content-Type" not in answer.headers
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-workflows-user", "idempotency-key"} <= allowed
    assert int(answer.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in answer.headers
    assert "Origin" in answer.headers["Vary"]


def test_a_preflight_from_another_origin_is_refused(cors_app):
    answer = preflight(cors_app.test_client(), "https://evil.example.net")
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_null_is_refused_unless_listed(client):
    answer = preflight(client, "null")  # the session app lists no origins
    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_a_call_from_a_listed_origin_carries_the_allow_origin_header(cors_app):
    client = cors_app.test_client()
    ok = client.get("/api/v1/queries", headers={"Origin": "null", "Authorization": f"Bearer {APP_KEY}"})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "null"
    other = client.get("/api/v1/queries", headers={"Origin": "https://evil.example.net",
                                                   "Authorization": f"Bearer {APP_KEY}"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    # Errors are readable by an allowed page too (the key is still required for the call itself).
    refused = client.get("/api/v1/queries", headers={"Origin": ALLOWED})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_an_options_request_that_is_not_a_preflight_still_needs_a_key(cors_app):
    assert cors_app.test_client().options("/api/v1/runs").status_code == 401


def test_a_preflight_to_an_unknown_path_is_a_404(cors_app):
    assert preflight(cors_app.test_client(), ALLOWED, "/api/v1/nothing-here").status_code == 404


def test_credentials_only_with_listed_origins():
    env = {"WORKFLOWS_CORS_ORIGINS": f"{ALLOWED}", "WORKFLOWS_CORS_CREDENTIALS": "true"}
    settings = Settings.from_env(env)
    assert settings.cors_origins == (ALLOWED,) and settings.cors_credentials
    # 'null' (any sandboxed iframe, data: URL or file) with credentials is as open as '*': refused the same way
    for open_origin in ("*", "null", f"{ALLOWED}, null"):
        with pytest.raises(ConfigError, match="WORKFLOWS_CORS_CREDENTIALS"):
            Settings.from_env({"WORKFLOWS_CORS_ORIGINS": open_origin, "WORKFLOWS_CORS_CREDENTIALS": "1"})
    assert Settings.from_env({"WORKFLOWS_CORS_ORIGINS": "null"}).cors_origins == ("null",)  # without: fine
    assert Settings.from_env({"WORKFLOWS_CORS_ORIGINS": "HTTPS://Apps.Example.com:8443,http://[::1]:3000"}
                             ).cors_origins == ("https://apps.example.com:8443", "http://[::1]:3000")
    for bad in ("apps.example.com", "https://apps.example.com/path", "ftp://x.example.com",
                r"https://.*\.example\.com", "https://", "NULLX"):
        with pytest.raises(ConfigError, match="WORKFLOWS_CORS_ORIGINS"):
            Settings.from_env({"WORKFLOWS_CORS_ORIGINS": bad})


def test_credentials_when_configured(settings):
    app = next(serve_app(settings.with_overrides(cors_origins=(ALLOWED,), cors_credentials=True)))
    try:
        answer = preflight(app.test_client(), ALLOWED)
    finally:
        app.extensions["workflows"].gateway.close()
    assert answer.status_code == 204 and answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_the_settings_api_refuses_null_and_star_while_credentials_are_on(settings):
    own = settings.with_overrides(cors_origins=(ALLOWED,), cors_credentials=True)
    app = next(serve_app(own))
    try:
        client = app.test_client()
        for origins in (["null"], ["*"], [ALLOWED, "null"]):
            answer = client.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json={"cors_origins": origins})
            assert answer.status_code == 422, (origins, answer.json)
            assert "null" in answer.json["error"]["details"]["fields"]["cors_origins"][0]
        assert preflight(client, "null").headers.get("Access-Control-Allow-Credentials") is None
    finally:
        app.extensions["workflows"].gateway.close()


def test_a_wildcard_allows_any_origin_but_null_without_credentials(settings):
    for origins, null_status in (("*",), 403), (("*", "null"), 204):
        app = next(serve_app(settings.with_overrides(cors_origins=origins)))
        try:
            answer = preflight(app.test_client(), "https://anywhere.example.org")
            sandboxed = preflight(app.test_client(), "null")
            call = app.test_client().get("/healthz", headers={"Origin": "null"})
        finally:
            app.extensions["workflows"].gateway.close()
        assert answer.status_code == 204
        assert answer.headers["Access-Control-Allow-Origin"] == "https://anywhere.example.org"
        assert "Access-Control-Allow-Credentials" not in answer.headers
        assert sandboxed.status_code == null_status, origins
        assert ("Access-Control-Allow-Origin" in call.headers) is (null_status == 204), origins


def test_a_polling_panel_may_send_if_none_match_and_read_the_etag(cors_app):
    client = cors_app.test_client()
    answer = client.options("/api/v1/requests", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, x-workflows-user, if-none-match"})
    assert answer.status_code == 204
    assert "if-none-match" in {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    page = client.get("/api/v1/requests", headers={"Origin": ALLOWED, "Authorization": f"Bearer {APP_KEY}",
                                                  "X-Workflows-User": "panel@example.com"})
    assert page.status_code == 200 and page.headers["ETag"]
    assert "ETag" in [h.strip() for h in page.headers["Access-Control-Expose-Headers"].split(",")]
