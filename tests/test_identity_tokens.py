"""User tokens verified against a JWKS (served on 127.0.0.1): forged headers refused, a manager's token
approves, each bad token refused with its own reason, and the issuer's key rotation picked up live."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import ADMIN_KEY, auth
from tests.identity_helpers import LocalIdp, SigningKey, create_key
from tests.requests_helpers import person, run_detail
from tests.runs_helpers import error_of
from tests.test_expense_flow import employee, submit, wait_for


@pytest.fixture(scope="module")
def idp():
    provider = LocalIdp()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def token_key(client_module, idp) -> str:
    return create_key(client_module, name="oidc app", identity={"schemes": ["oidc"], "oidc": idp.oidc_config()})[
        "secret"]


@pytest.fixture(scope="module")
def client_module(app):
    return app.test_client()


def as_token(key: str, token: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if token:
        headers["X-Workflows-Identity"] = token
    return headers


def waiting_expense(client) -> tuple[str, str, str]:
    """An expense over the limit, waiting for a manager: (employee, run id, request id)."""
    who = employee()
    run_id = submit(client, who, 640, "Conference").json["run_id"]
    request = wait_for(lambda: [r for r in run_detail(client, run_id)["requests"] if r["status"] == "pending"])[0]
    return who, run_id, request["id"]


def resolve(client, key: str, request_id: str, token: str | None, **headers: str):
    return client.post(f"/api/v1/requests/{request_id}/resolve", headers={**as_token(key, token), **headers},
                       json={"resolution": "Approve", "comment": "fine"})


def test_forged_header_refused_and_a_managers_token_approves(client, idp, token_key):
    who, run_id, request_id = waiting_expense(client)
    manager = person("boss")

    forged = resolve(client, token_key, request_id, None, **{"X-Workflows-User": manager,
                                                              "X-Workflows-Groups": "managers"})
    assert forged.status_code == 400 and error_of(forged)["details"]["header"] == "X-Workflows-User"
    assert "does not trust" in error_of(forged)["message"]
    groups_only = resolve(client, token_key, request_id, None, **{"X-Workflows-Groups": "managers"})
    assert groups_only.status_code == 400 and error_of(groups_only)["details"]["header"] == "X-Workflows-Groups"
    no_token = resolve(client, token_key, request_id, None)
    assert no_token.status_code == 401 and error_of(no_token)["details"]["reason"] == "missing_token"

    own = resolve(client, token_key, request_id, idp.token(who, ["managers"]))
    assert own.status_code == 403 and "started yourself" in error_of(own)["message"]
    stranger = resolve(client, token_key, request_id, idp.token(person("x"), ["staff"]))
    assert stranger.status_code == 404

    approved = resolve(client, token_key, request_id, idp.token(manager, ["managers"]))
    assert approved.status_code == 200, approved.json
    decision = approved.json["decisions"][0]
    assert (decision["actor"], decision["via"], decision["issuer"]) == (manager, "oidc", idp.issuer)
    run = wait_for(lambda: (r := run_detail(client, run_id))["status"] == "completed" and r)
    decided = [a for a in run["audit"] if a["action"] == "decided"]
    assert decided and decided[0]["details"]["via"] == "oidc" and decided[0]["details"]["issuer"] == idp.issuer
    assert run["decisions"][0]["via"] == "oidc"


def test_a_token_user_sees_their_inbox_and_can_trigger(client, idp, token_key):
    manager = person("boss")
    listing = client.get("/api/v1/requests", headers=as_token(token_key, idp.token(manager, ["managers"])))
    assert listing.status_code == 200
    who = person("emp")
    started = client.post("/api/v1/queries/runs_lab/runs", headers=as_token(token_key, idp.token(who)),
                          json={"input": {}})
    assert started.status_code == 202
    assert run_detail(client, started.json["run_id"])["started_by"] == who
    anonymous = client.post("/api/v1/queries/runs_lab/runs", headers=as_token(token_key, None), json={"input": {}})
    assert anonymous.status_code == 401 and error_of(anonymous)["details"]["reason"] == "missing_token"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens(idp: LocalIdp) -> dict[str, str]:
    who = person("boss")
    key = idp.keys[0]
    now = int(time.time())
    pem = key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    good = idp.token(who, ["managers"])
    head, body, sig = good.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(body + "=="))
    tampered["email"] = "ceo@example.com"
    return {
        "expired": key.sign(idp.claims(who, iat=now - 900, nbf=now - 900, exp=now - 600)),
        "not_yet_valid": key.sign(idp.claims(who, nbf=now + 600, iat=now, exp=now + 900)),
        "wrong_issuer": key.sign(idp.claims(who, iss="https://evil.example.com")),
        "wrong_audience": key.sign(idp.claims(who, aud="another-app")),
        "algorithm_not_allowed": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{body}.",
        "hs256_with_public_key": f"{_b64({'alg': 'HS256', 'kid': key.kid})}.{body}."
                                 + base64.urlsafe_b64encode(jwt.api_jws.get_algorithm_by_name("HS256").sign(
                                     f"{_b64({'alg': 'HS256', 'kid': key.kid})}.{body}".encode(),
                                     pem)).rstrip(b"=").decode(),
        "bad_signature": f"{head}.{_b64(tampered)}.{sig}",
        "unknown_key": SigningKey("RSA").sign(idp.claims(who)),
        "malformed": "not-a-token",
        "missing_claim": key.sign({k: v for k, v in idp.claims(who).items() if k != "email"}),
        "lifetime_too_long": key.sign(idp.claims(who, lifetime=10 * 365 * 86400)),  # ten years: was accepted
        "iat_in_future": key.sign({**idp.claims(who), "iat": now + 600, "nbf": now}),
        "email_not_verified": key.sign(idp.claims(who, email_verified=False)),  # anyone may have typed it
        # an alg that does not fit its kid's key type (anyone with the public JWKS can make these): was a 500
        "rs256_with_ec_kid": jwt.encode(idp.claims(who), key.private, algorithm="RS256",
                                        headers={"kid": idp.keys[1].kid}),
        "es256_with_rsa_kid": jwt.encode(idp.claims(who), idp.keys[1].private, algorithm="ES256",
                                         headers={"kid": key.kid}),
    }


def test_each_bad_token_is_refused_with_its_own_reason(client, idp, token_key):
    reasons = {}
    for case, token in _bad_tokens(idp).items():
        response = client.get("/api/v1/requests", headers=as_token(token_key, token))
        assert response.status_code == 401, (case, response.json)
        error = error_of(response)
        assert error["code"] == "unauthorized" and error["details"]["header"] == "X-Workflows-Identity"
        reasons[case] = error["details"]["reason"]
        assert "BEGIN" not in error["message"] and token_key not in error["message"]
    expected = {case: case for case in reasons}
    expected["hs256_with_public_key"] = "algorithm_not_allowed"
    expected["rs256_with_ec_kid"] = expected["es256_with_rsa_kid"] = "algorithm_not_allowed"
    expected["iat_in_future"] = "not_yet_valid"
    assert reasons == expected


def test_jwks_rotation_is_picked_up_without_a_restart(client):
    idp = LocalIdp()  # its own JWKS URL: the process-wide JWKS cache must not carry this rotation elsewhere
    try:
        key = create_key(client, identity={"schemes": ["oidc"], "oidc": idp.oidc_config()})["secret"]
        who = person("boss")
        assert client.get("/api/v1/requests", headers=as_token(key, idp.token(who))).status_code == 200
        newcomer = SigningKey("EC")
        early = client.get("/api/v1/requests", headers=as_token(key, newcomer.sign(idp.claims(who))))
        assert error_of(early)["details"]["reason"] == "unknown_key"
        retired = idp.keys[0]
        idp.keys = [newcomer, idp.keys[1]]  # the IdP rotates: key 0 retired, a new one published
        time.sleep(1.1)  # the refetch cooldown (one JWKS refetch per second at most)
        fresh = client.get("/api/v1/requests", headers=as_token(key, newcomer.sign(idp.claims(who))))
        assert fresh.status_code == 200, fresh.json
        gone = client.get("/api/v1/requests", headers=as_token(key, retired.sign(idp.claims(who))))
        assert gone.status_code == 401 and error_of(gone)["details"]["reason"] == "unknown_key"
    finally:
        idp.close()


def test_group_claims_from_a_nested_path(client, idp):
    key = create_key(client, identity={"schemes": ["oidc"],
                                       "oidc": idp.oidc_config(groups_claim="realm_access.roles")})["secret"]
    who, run_id, request_id = waiting_expense(client)
    manager = person("boss")
    token = idp.keys[1].sign(idp.claims(manager, realm_access={"roles": ["managers", "offline_access"]}))
    assert resolve(client, key, request_id, token).status_code == 200


def test_a_key_without_oidc_refuses_a_token_loudly(client, idp):
    key = create_key(client, identity={"schemes": ["headers"]})["secret"]
    response = client.get("/api/v1/requests", headers=as_token(key, idp.token(person("u"))))
    assert response.status_code == 400 and error_of(response)["details"]["header"] == "X-Workflows-Identity"


def test_an_admin_key_decides_only_as_a_named_person(client):
    _, _, request_id = waiting_expense(client)
    response = client.post(f"/api/v1/requests/{request_id}/resolve",
                           headers={"Authorization": f"Bearer {ADMIN_KEY}", "X-Workflows-Groups": "managers"},
                           json={"resolution": "Approve"})
    assert response.status_code == 400 and error_of(response)["details"]["header"] == "X-Workflows-User"


def test_an_unreachable_jwks_is_503_and_a_cleartext_jwks_elsewhere_is_refused(client, idp):
    from plugin.embedded.processes import free_port

    dead = create_key(client, identity={"schemes": ["oidc"], "oidc": idp.oidc_config(
        jwks_url=f"http://127.0.0.1:{free_port()}/jwks")})["secret"]
    response = client.get("/api/v1/requests", headers=as_token(dead, idp.token(person("u"))))
    assert response.status_code == 503 and error_of(response)["details"]["service"] == "jwks"
    cleartext = client.post("/api/v1/keys", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, json={
        "name": "k", "scope": "app",
        "identity": {"schemes": ["oidc"], "oidc": idp.oidc_config(jwks_url="http://idp.example.com/jwks")}})
    assert cleartext.status_code == 422 and "https" in error_of(cleartext)["message"]


def test_the_bootstrap_app_key_can_require_tokens_by_settings(settings, worker, idp):
    from plugin.identity.settings import IdentitySettings
    from tests.conftest import APP_KEY, serve_app

    identity = IdentitySettings.from_env({"WORKFLOWS_OIDC_ISSUER": idp.issuer, "WORKFLOWS_OIDC_JWKS_URL": idp.jwks_url,
                                          "WORKFLOWS_OIDC_AUDIENCES": idp.audience,
                                          "WORKFLOWS_OIDC_ALGORITHMS": "RS256,ES256",
                                          "WORKFLOWS_APP_KEY_IDENTITY": "oidc"})
    served = serve_app(settings.with_overrides(identity=identity))
    strict = next(served).test_client()
    try:
        forged = strict.get("/api/v1/requests", headers={"Authorization": f"Bearer {APP_KEY}",
                                                         "X-Workflows-User": "boss@example.com"})
        assert forged.status_code == 400 and error_of(forged)["details"]["header"] == "X-Workflows-User"
        proven = strict.get("/api/v1/requests", headers=as_token(APP_KEY, idp.token(person("boss"))))
        assert proven.status_code == 200, proven.json
    finally:
        next(served, None)


def test_the_jwks_is_found_through_openid_discovery(client):
    idp = LocalIdp()
    try:
        config = {k: v for k, v in idp.oidc_config().items() if k != "jwks_url"}
        key = create_key(client, identity={"schemes": ["oidc"], "oidc": config})["secret"]
        who = person("u")
        assert client.get("/api/v1/requests", headers=as_token(key, idp.token(who))).status_code == 200
        assert idp.fetches == 1
    finally:
        idp.close()


def test_a_key_may_allow_unverified_emails_and_longer_tokens(client, idp):
    who = person("boss")
    strict = create_key(client, identity={"schemes": ["oidc"], "oidc": idp.oidc_config()})["secret"]
    lenient = create_key(client, identity={"schemes": ["oidc"], "oidc": idp.oidc_config(
        allow_unverified_email=True, max_lifetime=7 * 86400)})["secret"]
    unverified = idp.token(who, email_verified=False)
    week = idp.keys[0].sign(idp.claims(who, lifetime=6 * 86400))
    for token in (unverified, week):
        assert client.get("/api/v1/requests", headers=as_token(strict, token)).status_code == 401
        assert client.get("/api/v1/requests", headers=as_token(lenient, token)).status_code == 200
    verified = idp.token(who, email_verified=True)
    assert client.get("/api/v1/requests", headers=as_token(strict, verified)).status_code == 200
    other_claim = create_key(client, identity={"schemes": ["oidc"], "oidc": idp.oidc_config(user_claim="upn")})
    token = idp.token(who, upn=who, email_verified=False)  # the user is not the email claim: it does not apply
    assert client.get("/api/v1/requests", headers=as_token(other_claim["secret"], token)).status_code == 200
    bad = client.post("/api/v1/keys", headers=auth(ADMIN_KEY), json={
        "name": "k", "scope": "app", "identity": {"schemes": ["oidc"], "oidc": idp.oidc_config(max_lifetime=10)}})
    assert bad.status_code == 422 and "identity.oidc.max_lifetime" in error_of(bad)["details"]["fields"]
