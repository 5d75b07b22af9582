"""The http_request activity through a named connection, called directly against a stub API on 127.0.0.1:
each auth type, OAuth2 token caching and renewal, secrets masked in whatever leaves the activity."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from temporalio.exceptions import ApplicationError

from plugin.engine.calls import http_types as t
from plugin.engine.calls.http_activity import HttpActivities
from plugin.secrets import SecretStore
from plugin.workspace.connections import check_connections
from tests.connections_helpers import BEARER, CLIENT_SECRET, PASSWORD, SECRETS, AuthStub, http_connections


@pytest.fixture(scope="module")
def api() -> Iterator[AuthStub]:
    server = AuthStub()
    yield server
    server.close()


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    secrets = SecretStore(tmp_path, environ={})
    for name, value in SECRETS.items():
        secrets.put(name, value)
    return secrets


def activity(api: AuthStub, store: SecretStore, allow: bool = True) -> HttpActivities:
    connections, problems = check_connections(http_connections(api.url), "test")
    assert problems == []
    return HttpActivities([api.hostport] if allow else [], connections=connections, secrets=store)


def call(connection: str, path: str, **kwargs) -> t.HttpCall:
    return t.HttpCall(method=kwargs.pop("method", "GET"), url=path, connection=connection, **kwargs)


def test_bearer_connection_adds_base_url_default_headers_and_token(api, store):
    answer = activity(api, store).http_request(call("api_bearer", "/items/7", query={"q": "x"}))
    assert answer.status == 200
    assert answer.body == {"path": "/v1/items/7", "query": {"q": ["x"]}, "default": "yes"}
    assert api.hits("/v1/items/7")[-1]["headers"]["Authorization"] == f"Bearer {BEARER}"


@pytest.mark.parametrize("connection", ["api_basic", "api_key"])
def test_basic_and_api_key_connections_authenticate(api, store, connection):
    assert activity(api, store).http_request(call(connection, f"/{connection}")).status == 200


def test_oauth2_client_credentials_token_is_fetched_once_and_cached(api, store):
    http = activity(api, store)
    before = len(api.hits("/token"))
    for _ in range(3):
        assert http.http_request(call("api_oauth", "/orders")).status == 200
    assert len(api.hits("/token")) == before + 1 and http.tokens.fetches == 1
    [grant] = api.hits("/token")[before:]
    assert grant["method"] == "POST" and "grant_type=client_credentials" in grant["body"]
    assert "scope=read" in grant["body"] and CLIENT_SECRET not in grant["body"]  # sent as Basic auth


def test_oauth2_token_refused_by_the_api_is_renewed_once(api, store):
    http = activity(api, store)
    assert http.http_request(call("api_oauth", "/a")).status == 200
    api.revoked.add(api.tokens[-1])
    assert http.http_request(call("api_oauth", "/b")).status == 200
    assert http.tokens.fetches == 2


def test_wrong_client_secret_fails_without_showing_it(api, store):
    store.put("STUB_CLIENT_SECRET", "wrong-" + CLIENT_SECRET)
    with pytest.raises(ApplicationError) as caught:
        activity(api, store).http_request(call("api_oauth", "/c"))
    assert caught.value.type == "ConnectionAuthFailed" and caught.value.non_retryable
    assert "token endpoint" in caught.value.message and "answered 401" in caught.value.message
    assert CLIENT_SECRET not in str(caught.value) + repr(caught.value.details)


def test_a_secret_echoed_by_the_api_is_masked_in_the_output(api, store):
    answer = activity(api, store).http_request(call("api_bearer", "/echo-auth"))
    assert answer.body == {"you_sent": "***"} and BEARER not in str(answer)


def test_missing_secret_fails_naming_the_secret_not_a_value(api, store):
    with pytest.raises(ApplicationError) as caught:
        activity(api, store).http_request(call("api_unset", "/x"))
    assert caught.value.type == "MissingSecret" and caught.value.non_retryable
    assert "WORKFLOWS_SECRET_NEVER_SET_ANYWHERE" in caught.value.message
    assert "PUT /api/v1/secrets/NEVER_SET_ANYWHERE" in caught.value.message
    assert caught.value.details[0] == {"secret": "NEVER_SET_ANYWHERE"}


def test_error_answers_never_carry_the_credentials(api, store):
    store.put("STUB_PASSWORD", "not-" + PASSWORD)
    with pytest.raises(ApplicationError) as caught:
        activity(api, store).http_request(call("api_basic", "/denied"))
    assert caught.value.type == t.HTTP_STATUS and "answered 401" in caught.value.message
    assert PASSWORD not in str(caught.value) + repr(caught.value.details)


def test_path_must_be_relative_and_redirects_are_not_followed(api, store):
    http = activity(api, store)
    with pytest.raises(ApplicationError) as caught:
        http.http_request(call("api_bearer", "https://elsewhere.example.com/steal"))
    assert caught.value.type == t.INVALID_HTTP_REQUEST and "relative" in caught.value.message
    answer = http.http_request(call("api_bearer", "/redirect", accept_status=[302]))
    assert answer.status == 302 and api.hits("/elsewhere") == []


def test_the_allow_list_applies_to_connections(api, store):
    with pytest.raises(ApplicationError) as caught:
        activity(api, store, allow=False).http_request(call("api_bearer", "/items"))
    assert caught.value.type == t.FORBIDDEN_ADDRESS


def test_unknown_connection_is_a_clear_non_retryable_error(api, store):
    with pytest.raises(ApplicationError) as caught:
        activity(api, store).http_request(call("nope", "/x"))
    assert caught.value.type == "UnknownConnection" and "'nope'" in caught.value.message


@pytest.mark.parametrize("connection", ["api_bearer", "api_basic", "api_key"])
def test_a_credential_echoed_base64_or_url_encoded_is_masked_too(api, store, connection):
    answer = activity(api, store).http_request(call(connection, "/echo-encoded"))
    assert answer.status == 200 and set(answer.body) == {"b64", "b64_urlsafe", "b64_inside", "url", "url_token",
                                                          "query_form"}
    decoded = []
    for text in answer.body.values():
        decoded.append(unquote_plus(text))
        for candidate in (text, text + "=" * (-len(text) % 4)):
            try:
                decoded.append(base64.b64decode(candidate, altchars=b"-_" if "-" in text or "_" in text else None)
                               .decode(errors="replace"))
            except ValueError:
                pass
    leaked = [v for v in SECRETS.values() if any(v in d for d in decoded)]
    assert leaked == [], answer.body
    assert "***" in answer.body["b64"] and "***" in answer.body["url"]
