"""Appsmith's X-APPSMITH-SIGNATURE on keys configured with a signature secret, and proxy presets."""

from __future__ import annotations

import time

import pytest

from tests.identity_helpers import LocalIdp, appsmith_signature, create_key
from tests.requests_helpers import person
from tests.runs_helpers import error_of

SECRETS = {"HS256": "k" * 47, "HS384": "m" * 48, "HS512": "z" * 64}
LENGTHS = [("HS256", 32), ("HS256", 47), ("HS384", 48), ("HS384", 63), ("HS512", 64), ("HS512", 100)]


@pytest.fixture(scope="module")
def idp():
    provider = LocalIdp()
    yield provider
    provider.close()


def call(client, key: str, signature: str | None, user: str = "ann@example.com"):
    headers = {"Authorization": f"Bearer {key}", "X-Workflows-User": user}
    if signature is not None:
        headers["X-APPSMITH-SIGNATURE"] = signature
    return client.get("/api/v1/requests", headers=headers)


@pytest.mark.parametrize("alg,length", LENGTHS)
def test_a_signature_made_as_appsmith_makes_it_is_accepted(client, alg, length):
    secret = "".join(chr(ord("a") + i % 26) for i in range(length))
    key = create_key(client, signature_secret=secret)["secret"]
    signature = appsmith_signature(secret)
    assert f'"alg":"{alg}"'.encode() in __import__("base64").urlsafe_b64decode(signature.split(".")[0] + "==")
    response = call(client, key, signature)
    assert response.status_code == 200, response.json


def test_bad_signatures_are_refused_with_their_reason(client):
    secret = SECRETS["HS256"]
    key = create_key(client, signature_secret=secret)["secret"]
    cases = {
        "missing_signature": None,
        "bad_signature": appsmith_signature("w" * 32),
        "expired": appsmith_signature(secret, issued=int(time.time()) - 700),
        "wrong_issuer": appsmith_signature(secret, issuer="NotAppsmith"),
        "malformed": "garbage",
        # a signature Appsmith never makes: ten years long, or issued in the future
        "lifetime_too_long": appsmith_signature(secret, lifetime=10 * 365 * 86400),
        "not_yet_valid": appsmith_signature(secret, issued=int(time.time()) + 300),
    }
    for reason, signature in cases.items():
        response = call(client, key, signature)
        assert response.status_code == 401, (reason, response.json)
        error = error_of(response)
        assert error["details"] == {"reason": reason, "header": "X-APPSMITH-SIGNATURE"}, reason
        assert secret not in error["message"]
    longer = appsmith_signature(SECRETS["HS512"])
    assert call(client, key, longer).status_code == 401, "another key's signature (another algorithm) fails too"


def test_signature_pairs_with_a_user_token(client, idp):
    secret = SECRETS["HS384"]
    key = create_key(client, signature_secret=secret,
                     identity={"schemes": ["oidc"], "oidc": idp.oidc_config()})["secret"]
    who = person("u")
    headers = {"Authorization": f"Bearer {key}", "X-Workflows-Identity": idp.token(who)}
    assert client.get("/api/v1/requests", headers=headers).status_code == 401, "token alone is not enough"
    signed = {**headers, "X-APPSMITH-SIGNATURE": appsmith_signature(secret)}
    assert client.get("/api/v1/requests", headers=signed).status_code == 200


@pytest.mark.parametrize("preset,header", [("pomerium", "X-Pomerium-Jwt-Assertion"),
                                           ("cloudflare_access", "Cf-Access-Jwt-Assertion")])
def test_proxy_presets_read_the_proxys_header(client, idp, preset, header):
    key_data = create_key(client, identity={"schemes": ["proxy"], "proxy": {
        "preset": preset, "jwks_url": idp.jwks_url, "issuer": idp.issuer, "audiences": [idp.audience],
        "algorithms": ["ES256", "RS256"]}})
    assert key_data["identity"]["proxy"]["header"] == header
    who = person("u")
    base = {"Authorization": f"Bearer {key_data['secret']}"}
    ok = client.get("/api/v1/requests", headers={**base, header: idp.token(who, key=1)})
    assert ok.status_code == 200, ok.json
    missing = client.get("/api/v1/requests", headers=base)
    assert missing.status_code == 401 and error_of(missing)["details"]["header"] == header
    wrong = client.get("/api/v1/requests", headers={**base, header: idp.token(who, key=1, aud="other")})
    assert error_of(wrong)["details"]["reason"] == "wrong_audience"


def test_google_iap_preset_fills_issuer_jwks_and_es256(client):
    key_data = create_key(client, identity={"schemes": ["proxy"], "proxy": {
        "preset": "google_iap", "audiences": ["/projects/1/global/backendServices/2"]}})
    proxy = key_data["identity"]["proxy"]
    assert proxy["issuer"] == "https://cloud.google.com/iap" and proxy["algorithms"] == ["ES256"]
    assert proxy["header"] == "x-goog-iap-jwt-assertion" and proxy["jwks_url"].startswith("https://www.gstatic.com/")


def test_oauth2_proxy_token_in_authorization_with_the_key_in_x_workflows_key(client, idp):
    key = create_key(client, identity={"schemes": ["proxy"], "proxy": {
        "preset": "oauth2_proxy", "jwks_url": idp.jwks_url, "issuer": idp.issuer,
        "audiences": [idp.audience]}})["secret"]
    who = person("u")
    response = client.get("/api/v1/requests", headers={"X-Workflows-Key": key,
                                                       "Authorization": f"Bearer {idp.token(who)}"})
    assert response.status_code == 200, response.json
