"""How an http step reaches a connection: its base URL, default headers and credentials, resolved in the
activity (secrets never travel through workflow code). OAuth2 client-credentials tokens are cached per
process until shortly before they expire."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from temporalio.exceptions import ApplicationError

from plugin.engine.calls.connection_types import Connection
from plugin.engine.calls.url_paths import PathEscape, join_under
from plugin.secrets import SecretStore, resolve

AUTH_FAILED = "ConnectionAuthFailed"
UNKNOWN_CONNECTION = "UnknownConnection"
MISSING_SECRET = "MissingSecret"
TOKEN_EARLY_SECONDS = 30.0
DEFAULT_TOKEN_SECONDS = 300.0


@dataclass
class Prepared:
    """A connection's request parts: the full URL, headers, and the secret values to mask in outputs."""

    url: str
    headers: dict[str, str]
    secrets: set[str] = field(default_factory=set)
    oauth_key: tuple[str, ...] | None = None


class TokenCache:
    """OAuth2 client-credentials access tokens by (connection, token URL, client id), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self.fetches = 0  # how many tokens were fetched (tests read it)

    def get(self, key: tuple[str, ...], fetch: Any) -> str:
        """The cached token, or a fresh one from ``fetch() -> (token, lifetime seconds)``."""
        with self._lock:
            hit = self._tokens.get(key)
            if hit and hit[1] > time.monotonic():
                return hit[0]
        token, lifetime = fetch()
        with self._lock:
            self.fetches += 1
            self._tokens[key] = (token, time.monotonic() + max(lifetime - TOKEN_EARLY_SECONDS, 1.0))
        return token

    def forget(self, key: tuple[str, ...]) -> None:
        """Drop a token the API refused, so the next call fetches a new one."""
        with self._lock:
            self._tokens.pop(key, None)


def join_url(base: str, path: str) -> str:
    """The base URL with a relative path; refuses a path that would leave the base URL (see url_paths)."""
    try:
        return join_under(base, path)
    except PathEscape as exc:
        raise ApplicationError(f"path: {exc}", {"field": "path"}, type="InvalidHttpRequest",
                               non_retryable=True) from None


def prepare(conn: Connection, path: str, headers: dict[str, str], store: SecretStore,
            session: requests.Session, tokens: TokenCache, timeout: float) -> Prepared:
    """The request parts for a call through ``conn``: the step's headers win over the connection's."""
    used: set[str] = set()
    settings = resolve(conn.settings, store, used)
    merged = {str(k): str(v) for k, v in (settings.get("headers") or {}).items()}
    merged.update(headers)
    out = Prepared(url=join_url(settings["base_url"], path), headers=merged, secrets=used)
    auth = settings.get("auth")
    if not auth:
        return out
    kind = auth["type"]
    if kind == "bearer":
        merged["Authorization"] = f"Bearer {auth['token']}"
    elif kind == "basic":
        pair = f"{auth['username']}:{auth['password']}".encode()
        merged["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif kind == "api_key":
        merged[auth["header"]] = auth["value"]
    else:
        key = (conn.name, auth["token_url"], auth["client_id"])
        token = tokens.get(key, lambda: _fetch_token(conn.name, auth, session, timeout))
        used.add(token)
        merged["Authorization"] = f"Bearer {token}"
        out.oauth_key = key
    used.update(v for k, v in merged.items() if k.lower() == "authorization")
    return out


def _fetch_token(name: str, auth: dict[str, Any], session: requests.Session, timeout: float) -> tuple[str, float]:
    """A client-credentials grant (RFC 6749 4.4): client id and secret in HTTP Basic auth."""
    form = {"grant_type": "client_credentials"}
    for key in ("scope", "audience"):
        if auth.get(key):
            form[key] = auth[key]
    where = f"connection {name!r}: token endpoint {auth['token_url']}"
    try:
        response = session.post(auth["token_url"], data=form, auth=(auth["client_id"], auth["client_secret"]),
                                timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise ApplicationError(f"{where} cannot be reached ({type(exc).__name__})", type=AUTH_FAILED) from None
    if response.status_code != 200:
        raise ApplicationError(f"{where} answered {response.status_code}", type=AUTH_FAILED,
                               non_retryable=response.status_code in (400, 401, 403))
    try:
        body = response.json()
        token = str(body["access_token"])
        lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
    except (ValueError, KeyError, TypeError):
        raise ApplicationError(f"{where} gave no access_token", type=AUTH_FAILED, non_retryable=True) from None
    return token, lifetime
