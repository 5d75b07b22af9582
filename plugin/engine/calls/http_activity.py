"""The ``http_request`` activity: one outbound call of an ``http`` step, through the SSRF guard.

Temporal retries it by the step's retry policy: status codes the step names as retryable, timeouts and
connection failures are retried; other error statuses, refused addresses and oversized answers are not.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from temporalio import activity
from temporalio.exceptions import ApplicationError

from plugin.engine.calls import http_types as t
from plugin.engine.calls.connection_auth import MISSING_SECRET, UNKNOWN_CONNECTION, TokenCache, prepare
from plugin.engine.calls.connection_types import Connection
from plugin.engine.calls.net_guard import (
    AllowListSource,
    ForbiddenAddress,
    Guard,
    Resolver,
    guarded_session,
    parse_allow_list,
    system_resolver,
)
from plugin.secrets import MissingSecret, SecretStore, scrub
from plugin.store.admin.runtime_settings import RuntimeSettings

MAX_RESPONSE_BYTES = 1024 * 1024
MAX_RETRY_AFTER_SECONDS = 300
_ERROR_BODY_CHARS = 2000


class HttpActivities:
    """Outbound HTTP for ``http`` steps, with the allow-list from the settings (the runtime settings when given)."""

    def __init__(self, allow_hosts: Iterable[str] = (), resolver: Resolver | None = None,
                 max_response_bytes: int = MAX_RESPONSE_BYTES, connections: dict[str, Connection] | None = None,
                 secrets: SecretStore | None = None, runtime: RuntimeSettings | None = None) -> None:
        self.guard = Guard(parse_allow_list(allow_hosts), resolver or system_resolver,
                           allow_source=AllowListSource(lambda: runtime.current().http_allow_hosts)
                           if runtime is not None else None)
        self.max_response_bytes = max_response_bytes
        self.connections = connections or {}
        self.secrets = secrets
        self.tokens = TokenCache()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = guarded_session(self.guard)
        return session

    @activity.defn(name="http_request")
    def http_request(self, call: t.HttpCall) -> t.HttpAnswer:
        """Send the request; answer with status, headers and body, or raise a typed ApplicationError.

        With ``call.connection``, ``call.url`` is a path relative to the connection's base URL and the
        connection's headers and credentials are added here; every secret value is masked in what leaves."""
        attempt = activity.info().attempt if activity.in_activity() else 1
        if not call.connection:
            return self._send(call, call.url, call.headers, attempt, call.timeout_seconds, redirects=True)
        conn = self.connections.get(call.connection)
        if conn is None or conn.kind != "http" or self.secrets is None:
            raise ApplicationError(f"there is no http connection named {call.connection!r}",
                                   type=UNKNOWN_CONNECTION, non_retryable=True)
        timeout = min(call.timeout_seconds, conn.seconds("timeout", call.timeout_seconds))
        used: set[str] = set()
        try:
            answer = self._via(conn, call, attempt, timeout, used, may_renew=True)
        except MissingSecret as exc:
            raise ApplicationError(f"connection {call.connection!r}: {exc}", {"secret": exc.name},
                                   type=MISSING_SECRET, non_retryable=True) from None
        except ApplicationError as exc:
            raise ApplicationError(scrub(exc.message, used), *scrub(list(exc.details), used), type=exc.type,
                                   non_retryable=exc.non_retryable, next_retry_delay=exc.next_retry_delay) from None
        return t.HttpAnswer(**scrub(dataclasses.asdict(answer), used))

    def _via(self, conn: Connection, call: t.HttpCall, attempt: int, timeout: float, used: set[str],
             may_renew: bool) -> t.HttpAnswer:
        """One call through the connection (``used`` collects the secret values it used); an OAuth2 token
        the API refuses (401) is dropped and the call made once more with a fresh one."""
        ready = prepare(conn, call.url, call.headers, self.secrets, self._session(), self.tokens, timeout)
        used |= ready.secrets
        try:
            return self._send(call, ready.url, ready.headers, attempt, timeout, redirects=False)
        except ApplicationError as exc:
            status = exc.details[0].get("status") if exc.details and isinstance(exc.details[0], dict) else None
            if status == 401 and may_renew and ready.oauth_key is not None:
                self.tokens.forget(ready.oauth_key)  # revoked, or expired before its time
                return self._via(conn, call, attempt, timeout, used, may_renew=False)
            raise

    def _send(self, call: t.HttpCall, url: str, headers: dict[str, str], attempt: int, timeout: float,
              redirects: bool) -> t.HttpAnswer:
        where = f"{call.method} {url}"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApplicationError(f"{where}: the URL must be http:// or https:// with a host",
                                   type=t.INVALID_HTTP_REQUEST, non_retryable=True)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            self.guard.addresses(parts.hostname, port)  # refuse early, with a clear message
            response = self._session().request(
                call.method.upper(), url, params=call.query or None, headers=headers or None,
                json=call.body if call.has_body else None, timeout=timeout, stream=True,
                allow_redirects=redirects,  # a connection's credentials never follow a redirect elsewhere
            )
        except ForbiddenAddress as exc:
            raise ApplicationError(f"{where}: {exc}", type=t.FORBIDDEN_ADDRESS, non_retryable=True) from None
        except requests.exceptions.InvalidHeader:  # its message quotes the value, maybe a credential
            raise ApplicationError(f"{where}: a header name or value is not valid (a line break or leading "
                                   "space?)", type=t.INVALID_HTTP_REQUEST, non_retryable=True) from None
        except ValueError as exc:  # a malformed URL or port
            raise ApplicationError(f"{where}: {exc}", type=t.INVALID_HTTP_REQUEST, non_retryable=True) from None
        except (requests.RequestException, ConnectionError) as exc:
            raise ApplicationError(f"{where}: {type(exc).__name__}: {exc} (attempt {attempt})",
                                   {"attempt": attempt}, type=t.CONNECTION_FAILED) from None
        with response:
            body = self._read_body(response, where)
        status = response.status_code
        if status < 400 or status in call.accept_status:
            return t.HttpAnswer(status=status, headers={k.lower(): v for k, v in response.headers.items()},
                                body=body, url=response.url, attempts=attempt)
        details = {"status": status, "body": body if not isinstance(body, str) else body[:_ERROR_BODY_CHARS],
                   "attempt": attempt}
        if status in call.retry_on_status:
            tries = f"after {attempt} attempts" if attempt >= call.max_attempts else f"(attempt {attempt})"
            raise ApplicationError(f"{where} answered {status} {tries}", details, type=t.HTTP_STATUS_RETRYABLE,
                                   next_retry_delay=_retry_after(response))
        raise ApplicationError(f"{where} answered {status}", details, type=t.HTTP_STATUS, non_retryable=True)

    def _read_body(self, response: requests.Response, where: str) -> Any:
        raw = response.raw.read(self.max_response_bytes + 1, decode_content=True)
        if len(raw) > self.max_response_bytes:
            raise ApplicationError(f"{where}: the answer is larger than {self.max_response_bytes} bytes",
                                   type=t.RESPONSE_TOO_LARGE, non_retryable=True)
        if not raw:
            return None
        if "json" in response.headers.get("content-type", ""):
            try:
                return json.loads(raw)
            except ValueError:
                pass
        return raw.decode(response.encoding or "utf-8", errors="replace")

    def all(self) -> list:
        """The activity callables, for the worker."""
        return [self.http_request]


def _retry_after(response: requests.Response) -> timedelta | None:
    value = response.headers.get("retry-after", "")
    if value.isdigit():
        return timedelta(seconds=min(int(value), MAX_RETRY_AFTER_SECONDS))
    return None
