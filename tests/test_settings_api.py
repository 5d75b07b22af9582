"""Runtime settings: shown with where each value comes from, changed without a restart and in force on every
API process within a second, refused whole when any value is bad, audited. These apps use a Redis database
of their own, so no other test sees their settings."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from plugin.config import Settings
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app
from tests.identity_helpers import LocalIdp
from tests.requests_helpers import person
from tests.runs_helpers import error_of

ENV_ORIGIN = "https://env.example.com"
PAGE_ORIGIN = "https://apps.example.com"


def isolated(settings: Settings, db: int, **changes) -> Settings:
    """The session's settings on a Redis database of their own (emptied first)."""
    import redis

    url = settings.redis_url.rsplit("/", 1)[0] + f"/{db}"
    redis.Redis.from_url(url).flushdb()
    return settings.with_overrides(redis_url=url, **changes)


@pytest.fixture(scope="module")
def own_settings(settings: Settings) -> Settings:
    return isolated(settings, 5, cors_origins=(ENV_ORIGIN,))


@pytest.fixture(scope="module")
def first(own_settings: Settings) -> Iterator[Flask]:
    yield from serve_app(own_settings)


@pytest.fixture(scope="module")
def second(own_settings: Settings) -> Iterator[Flask]:
    yield from serve_app(own_settings)


@pytest.fixture
def admin(first):
    client = first.test_client()
    yield client
    reset = {name: None for name in client.get("/api/v1/settings", headers=auth(ADMIN_KEY)).json["settings"]}
    assert client.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json=reset).status_code == 200


def patch(client, **body):
    return client.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json=body)


def in_force_within_a_second(seen) -> None:
    """``seen()`` holds for every probe that starts a second or more after now (a probe that started earlier
    may still see the old value)."""
    changed_at = time.monotonic()
    while True:
        started = time.monotonic()
        if seen():
            return
        assert started - changed_at < 1.0, "a request a second after the change still saw the old value"
        time.sleep(0.05)


def preflight(client, origin: str):
    return client.options("/api/v1/queries", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})


def test_each_setting_shows_its_value_and_where_it_comes_from(admin):
    shown = admin.get("/api/v1/settings", headers=auth(ADMIN_KEY)).json["settings"]
    assert set(shown) == {"cors_origins", "http_allow_hosts", "notify_url", "request_defaults", "identity_defaults"}
    assert shown["cors_origins"] == {**shown["cors_origins"], "value": [ENV_ORIGIN], "source": "environment",
                                     "env": "WORKFLOWS_CORS_ORIGINS", "env_value": [ENV_ORIGIN]}
    assert shown["http_allow_hosts"]["source"] == "default" and shown["http_allow_hosts"]["value"] == []
    changed = patch(admin, notify_url="https://hooks.example.com/notify").json["settings"]
    assert changed["notify_url"]["value"] == "https://hooks.example.com/notify"
    assert changed["notify_url"]["source"] == "runtime" and changed["notify_url"]["env_value"] is None


def test_a_change_is_in_force_on_another_api_process_within_a_second(admin, second):
    other = second.test_client()
    assert preflight(other, PAGE_ORIGIN).status_code == 403
    assert patch(admin, cors_origins=[ENV_ORIGIN, PAGE_ORIGIN]).status_code == 200
    in_force_within_a_second(lambda: preflight(other, PAGE_ORIGIN).status_code == 204)
    answer = preflight(other, PAGE_ORIGIN)
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN

    back = patch(admin, cors_origins=None).json["settings"]["cors_origins"]
    assert back["source"] == "environment" and back["value"] == [ENV_ORIGIN]
    in_force_within_a_second(lambda: preflight(other, PAGE_ORIGIN).status_code == 403)
    assert preflight(other, ENV_ORIGIN).status_code == 204


@pytest.mark.parametrize("body, field", [
    ({"cors_origins": "https://a.example.com"}, "cors_origins"),
    ({"cors_origins": ["apps.example.com"]}, "cors_origins"),
    ({"cors_origins": ["https://a.example.com/path"]}, "cors_origins"),
    ({"http_allow_hosts": ["inside:99999"]}, "http_allow_hosts"),
    ({"http_allow_hosts": [":80"]}, "http_allow_hosts"),
    ({"notify_url": "ftp://hooks.example.com"}, "notify_url"),
    ({"notify_url": 42}, "notify_url"),
    ({"request_defaults": {"due_in_seconds": 0}}, "request_defaults.due_in_seconds"),
    ({"request_defaults": {"due_in_seconds": "1 day"}}, "request_defaults.due_in_seconds"),
    ({"request_defaults": {"remind_every_seconds": -5}}, "request_defaults.remind_every_seconds"),
    ({"request_defaults": {"max_reminders": 1000}}, "request_defaults.max_reminders"),
    ({"request_defaults": {"due_in": 60}}, "request_defaults.due_in"),
    ({"request_defaults": []}, "request_defaults"),
    ({"identity_defaults": {"oidc": {"issuer": "https://idp.example.com"}}}, "identity_defaults.oidc.audiences"),
    ({"identity_defaults": {"oidc": {"issuer": "i", "jwks_url": "http://idp.example.com/jwks", "audiences": ["a"]}}},
     "identity_defaults.oidc.jwks_url"),
    ({"identity_defaults": {"saml": {}}}, "identity_defaults"),
    ({"colour": "blue"}, "colour"),
])
def test_a_bad_value_is_422_naming_the_field_and_nothing_is_applied(admin, body, field):
    before = admin.get("/api/v1/settings", headers=auth(ADMIN_KEY)).json
    response = patch(admin, notify_url="https://hooks.example.com/fine", **body) if "notify_url" not in body \
        else patch(admin, http_allow_hosts=["fine.internal"], **body)
    assert response.status_code == 422, response.json
    error = error_of(response)
    assert error["code"] == "validation_failed" and field in error["details"]["fields"], error
    assert field in error["message"]
    assert admin.get("/api/v1/settings", headers=auth(ADMIN_KEY)).json == before, "half-applied"


def test_only_an_admin_key_reads_or_changes_settings(first):
    client = first.test_client()
    assert client.get("/api/v1/settings").status_code == 401
    refused = client.patch("/api/v1/settings", headers=auth(APP_KEY), json={"notify_url": "https://x.example.com"})
    assert refused.status_code == 403 and "admin" in error_of(refused)["message"]
    not_json = client.patch("/api/v1/settings", headers={**auth(ADMIN_KEY), "Content-Type": "text/plain"},
                            data="notify_url=x")
    assert not_json.status_code == 400 and error_of(not_json)["code"] == "bad_request"


def test_every_change_is_in_the_settings_audit_with_who_and_when(admin):
    who = person("admin")
    headers = auth(ADMIN_KEY, user=who)
    admin.patch("/api/v1/settings", headers=headers, json={"http_allow_hosts": ["billing.internal:8080"]})
    admin.patch("/api/v1/settings", headers=headers, json={"http_allow_hosts": None})
    entries = admin.get("/api/v1/settings/audit", headers=auth(ADMIN_KEY), query_string={"limit": 2}).json["entries"]
    assert [e["changes"] for e in entries] == [{"http_allow_hosts": "reset"},
                                               {"http_allow_hosts": ["billing.internal:8080"]}]
    assert all(e["actor"] == who and e["action"] == "settings_changed" and e["at"] for e in entries)


def test_identity_defaults_let_keys_verify_user_tokens_without_a_restart(admin):
    idp = LocalIdp()
    try:
        refused = admin.post("/api/v1/keys", headers=auth(ADMIN_KEY),
                             json={"name": "sso", "scope": "app", "identity": {"schemes": ["oidc"]}})
        assert refused.status_code == 422 and "identity.oidc" in error_of(refused)["details"]["fields"]
        assert patch(admin, identity_defaults={"oidc": idp.oidc_config()}).status_code == 200
        created = admin.post("/api/v1/keys", headers=auth(ADMIN_KEY),
                             json={"name": "sso", "scope": "app", "identity": {"schemes": ["oidc"]}})
        assert created.status_code == 201, created.json
        key = {"Authorization": f"Bearer {created.json['secret']}"}
        ann = person("ann")
        ok = admin.get("/api/v1/queries", headers={**key, "X-Workflows-Identity": idp.token(ann)})
        assert ok.status_code == 200, ok.json
        forged = LocalIdp()
        try:
            bad = admin.get("/api/v1/queries", headers={**key, "X-Workflows-Identity": forged.token(ann)})
        finally:
            forged.close()
        assert bad.status_code == 401, bad.json
    finally:
        idp.close()


def test_the_settings_page_is_served_at_settings_and_named_in_the_manifest(client):
    page = client.get("/settings")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'<base href="/ui/settings/">' in page.data and b"Admin key" in page.data
    assert client.get("/ui/settings/settings.js").status_code == 200
    entry = client.get("/manifest.json").json["settings_page"]
    assert entry["path"] == "/settings" and entry["entry"] == "ui_panels/settings/index.html"
    assert {s["id"] for s in entry["sections"]} >= {"health", "keys", "runtime", "workspaces"}
