"""The keys admin API: create (secret shown once), list, change, rotate with a grace period, revoke at once,
expiry, and the settings audit log."""

from __future__ import annotations

import time

from tests.conftest import ADMIN_KEY, APP_KEY, auth
from tests.identity_helpers import create_key
from tests.requests_helpers import person
from tests.runs_helpers import error_of


def queries_with(client, secret: str):
    return client.get("/api/v1/queries", headers={"Authorization": f"Bearer {secret}"})


def test_a_created_key_works_and_its_secret_is_shown_once(client):
    created = create_key(client, name="appsmith prod")
    secret = created["secret"]
    assert secret.startswith("wfp_app_") and created["prefix"] == secret[:12]
    assert created["identity"]["schemes"] == ["headers"] and created["created_by"] == "key:admin"
    assert queries_with(client, secret).status_code == 200

    listed = client.get("/api/v1/keys", headers=auth(ADMIN_KEY)).json["keys"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "secret" not in mine and "digest" not in mine and mine["last_used_at"]
    assert secret not in str(listed)
    assert {k["id"] for k in listed if k.get("bootstrap")} == {"env:admin", "env:app"}
    assert "secret" not in client.get(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).json


def test_only_an_admin_key_manages_keys(client):
    response = client.get("/api/v1/keys", headers=auth(APP_KEY))
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert client.post("/api/v1/keys", json={"name": "x", "scope": "admin"}).status_code == 401


def test_revoke_stops_the_key_at_once(client):
    created = create_key(client)
    assert queries_with(client, created["secret"]).status_code == 200
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
    refused = queries_with(client, created["secret"])
    assert refused.status_code == 401 and "not valid" in error_of(refused)["message"]
    again = client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY))
    assert again.status_code == 404 and error_of(again)["code"] == "not_found"


def test_rotate_keeps_the_old_secret_for_the_grace_period_only(client):
    created = create_key(client)
    rotated = client.post(f"/api/v1/keys/{created['id']}/rotate", headers=auth(ADMIN_KEY), json={"grace_seconds": 2})
    assert rotated.status_code == 200, rotated.json
    new = rotated.json["secret"]
    assert new != created["secret"] and rotated.json["prefix"] == new[:12] and rotated.json["rotated_at"]
    assert queries_with(client, new).status_code == 200
    assert queries_with(client, created["secret"]).status_code == 200, "old secret works during the grace"
    time.sleep(2.2)
    assert queries_with(client, created["secret"]).status_code == 401
    assert queries_with(client, new).status_code == 200

    at_once = client.post(f"/api/v1/keys/{created['id']}/rotate", headers=auth(ADMIN_KEY), json={})
    assert queries_with(client, new).status_code == 401, "no grace: the old secret stops at once"
    assert queries_with(client, at_once.json["secret"]).status_code == 200


def test_an_expired_key_stops(client):
    created = create_key(client, expires_at=_in(2))
    assert queries_with(client, created["secret"]).status_code == 200
    time.sleep(2.2)
    assert queries_with(client, created["secret"]).status_code == 401


def _in(seconds: int) -> str:
    from datetime import UTC, datetime, timedelta
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_bad_key_settings_are_422_naming_the_field(client):
    cases = [
        ({"scope": "root"}, "scope"),
        ({"identity": {"schemes": ["magic"]}}, "identity.schemes"),
        ({"identity": {"schemes": ["oidc"], "oidc": {"issuer": "https://idp"}}}, "identity.oidc.audiences"),
        ({"identity": {"schemes": ["oidc"], "oidc": {"issuer": "http://idp.example.com", "audiences": ["a"]}}},
         "identity.oidc.issuer"),
        ({"identity": {"schemes": ["oidc"], "oidc": {"issuer": "i", "jwks_url": "https://idp/jwks",
                                                     "audiences": ["a"], "algorithms": ["HS256"]}}},
         "identity.oidc.algorithms"),
        ({"identity": {"schemes": ["proxy"], "proxy": {"preset": "nope"}}}, "identity.proxy.preset"),
        ({"signature_secret": "too short"}, "signature_secret"),
        ({"scope": "webhook"}, "query"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/keys", headers=auth(ADMIN_KEY), json={"name": "k", "scope": "app", **body})
        assert response.status_code == 422, (body, response.json)
        assert field in error_of(response)["details"]["fields"], (body, response.json)


def test_every_change_is_in_the_settings_audit_without_secrets(client):
    admin = person("admin")
    secret = "s" * 40
    created = client.post("/api/v1/keys", headers=auth(ADMIN_KEY, user=admin),
                          json={"name": "audited", "scope": "app", "signature_secret": secret}).json
    assert created["identity"]["has_signature_secret"] is True
    key_id = created["id"]
    headers = auth(ADMIN_KEY, user=admin)
    assert client.patch(f"/api/v1/keys/{key_id}", headers=headers, json={"name": "renamed"}).json["name"] == "renamed"
    client.post(f"/api/v1/keys/{key_id}/rotate", headers=headers, json={"grace_seconds": 60})
    client.delete(f"/api/v1/keys/{key_id}", headers=headers)

    entries = client.get("/api/v1/keys/audit", headers=auth(ADMIN_KEY), query_string={"limit": 1000}).json["entries"]
    mine = [e for e in entries if e["target"] == f"key:{key_id}"]
    assert [e["action"] for e in mine] == ["key_revoked", "key_rotated", "key_changed", "key_created"]
    assert all(e["actor"] == admin and e["at"] for e in mine)
    assert mine[-1]["changes"]["signature_secret"] == "changed" and secret not in str(entries)
    assert mine[1]["changes"] == {"grace_seconds": 60}


def test_a_revoke_stops_the_key_on_another_api_process_at_once(client, settings):
    from tests.conftest import serve_app

    other = serve_app(settings)
    second_process = next(other)
    try:
        created = create_key(client)
        assert queries_with(second_process.test_client(), created["secret"]).status_code == 200
        assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY)).status_code == 204
        assert queries_with(second_process.test_client(), created["secret"]).status_code == 401
    finally:
        next(other, None)


def test_serve_warns_about_keys_that_trust_headers_without_a_signature(app, settings):
    from plugin.store.admin.key_warnings import trusted_header_warnings

    client = app.test_client()
    risky = create_key(client, name="risky headers")
    signed = create_key(client, name="signed headers", signature_secret="q" * 32)
    warnings = "\n".join(trusted_header_warnings(settings, app.extensions["workflows"].redis))
    assert "WORKFLOWS_APP_KEY" in warnings and risky["id"] in warnings
    assert signed["id"] not in warnings
    client.delete(f"/api/v1/keys/{risky['id']}", headers=auth(ADMIN_KEY))


def test_a_signature_secret_can_be_set_and_removed(client):
    created = create_key(client)
    headers = auth(ADMIN_KEY)
    user = {"Authorization": f"Bearer {created['secret']}", "X-Workflows-User": person("u")}
    set_secret = client.patch(f"/api/v1/keys/{created['id']}", headers=headers, json={"signature_secret": "p" * 40})
    assert set_secret.json["identity"]["has_signature_secret"] is True
    refused = client.get("/api/v1/requests", headers=user)
    assert refused.status_code == 401 and error_of(refused)["details"]["reason"] == "missing_signature"
    removed = client.patch(f"/api/v1/keys/{created['id']}", headers=headers, json={"signature_secret": None})
    assert removed.json["identity"]["has_signature_secret"] is False
    assert client.get("/api/v1/requests", headers=user).status_code == 200
