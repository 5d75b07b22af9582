"""Frequent calls answered in front of Flask: what the status read (``plugin.api.runs.fast_read``), the inbox page
(``plugin.api.requests.fast_page``), the plain trigger (``plugin.api.queries.fast_trigger``) and the decision
(``plugin.api.requests.fast_resolve``) share.

Panels poll a run's status and the inbox every few seconds, apps trigger runs in bursts and people wait on their
decisions; once each answer was one Redis call (or one call to Temporal), Flask's request context, routing, hooks
and response object were most of the API's own CPU (docs/performance.md). A ``FrontRoute`` WSGI layer answers the
usual case of one route itself, by the rules and with the parts Flask uses: the key, the user and the route's
capability by ``plugin.access.callers`` (as the events edge), the admission (joined to the route's own Redis call
where it can be), ETag and 304 as ``plugin.api.http.conditional``, CORS headers by ``plugin.api.http.cors`` and the
HTTP metrics. Anything else goes to Flask unchanged, told (``ADMITTED`` in the WSGI environ) when the request was
already admitted, so no request is counted twice.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from limits.storage import RedisStorage
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES, parse_etags

from plugin import finite_json, metrics
from plugin.access.callers import check_capability, identity_of, key_of, person_required, presented_key
from plugin.api.http import abuse_limits, rate_limits
from plugin.api.http.conditional import CACHE_CONTROL
from plugin.api.http.cors import cors_headers
from plugin.api.http.input_limits import json_depth_exceeds
from plugin.errors import PluginError
from plugin.models import Identity
from plugin.store.admin.keys import ApiKey

log = logging.getLogger(__name__)
# The WSGI environ entry telling Flask this request was admitted here: None (admitted), or the 429 to raise.
ADMITTED = abuse_limits.ADMITTED
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of a front route: its key, who, and the admission to join to the route's Redis
    call."""

    key: ApiKey
    who: Identity
    admission: rate_limits.Admission
    storage: RedisStorage


class FrontRoute:
    """WSGI middleware answering one route in front of Flask; subclasses say which requests (``match``) and how
    (``answer``), and pass every other request to ``wsgi_app``."""

    route = ""  # the metrics' route label, as Flask's rule names it
    method = "GET"  # the route's method

    def __init__(self, app: Flask, wsgi_app: WsgiApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._children: dict[int, tuple[Any, Any]] = {}

    def match(self, environ: dict[str, Any]) -> tuple[Any, ...] | None:
        """The route's arguments when this request (of ``method``) is one to answer here, else None."""
        raise NotImplementedError

    def answer(self, environ: dict[str, Any], *matched: Any) -> Answer | None:
        """(status, headers, body), or None for Flask to answer (``ADMITTED`` set when admitted)."""
        raise NotImplementedError

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer the request here when it is this route's usual case, else let Flask answer it."""
        matched = self.match(environ) if environ.get("REQUEST_METHOD") == self.method else None
        if matched is not None:
            started = time.perf_counter()
            try:
                answered = self.answer(environ, *matched)
            except Exception:  # a bug here must not cost the answer: Flask answers (told of an admission made)
                log.exception("front read of %s failed; Flask answers it", environ.get("PATH_INFO"))
                answered = None
            if answered is not None:
                status, headers, body = answered
                self._count(status, started)
                start_response(status_line(status), headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def plain_json_post(self, environ: dict[str, Any]) -> bool:
        """Whether a request has no query arguments and a JSON body of a given length within the limit (else Flask
        answers it, with its checks of bodies: ``plugin.api.http.input_limits``)."""
        if (environ.get("QUERY_STRING") or environ.get("HTTP_TRANSFER_ENCODING")
                or environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != "application/json"):
            return False
        length = environ.get("CONTENT_LENGTH", "")
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        return length.isdigit() and int(length) > 0 and (limit is None or int(length) <= limit)

    def caller(self, environ: dict[str, Any], capability: str = "read") -> Caller | None:
        """The caller with a key that may do ``capability`` and a person (or an admin key), and its admission; None
        when Flask must answer (a refused key: Flask counts the failure; an admission that cannot be joined to one
        Redis call)."""
        storage = rate_limits.joinable_storage(self.app)
        if storage is None or rate_limits.middleware_limits():
            return None
        svc = self.app.extensions["workflows"]
        headers = EnvironHeaders(environ)
        try:
            presented = presented_key(headers)
            key = key_of(headers, svc.keys, ("admin", "app"), presented)
            who = identity_of(headers, key)
            check_capability(key, who, capability)
            person_required(key, who)
        except PluginError:
            return None
        admission = abuse_limits.admission_of(svc.settings, key.id or f"bootstrap:{key.name}", who.user,
                                              abuse_limits.key_target(presented),
                                              environ.get("REMOTE_ADDR") or "unknown")
        return Caller(key, who, admission, storage)

    def json_answer(self, environ: dict[str, Any], body: bytes, etag: str | None = None, status: int = 200) -> Answer:
        """``status`` (200) with the JSON body, or 304 when If-None-Match names the ETag; with the headers Flask
        would add (no ETag or cache headers without ``etag``)."""
        origin = environ.get("HTTP_ORIGIN")
        tail = cors_headers(self.app, origin, preflight=False) if origin is not None else []
        if etag is None:
            return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Vary", "Origin"), *tail], body
        etags = environ.get("HTTP_IF_NONE_MATCH")
        if etags is not None and parse_etags(etags).contains_weak(etag):
            return 304, [("ETag", f'"{etag}"'), ("Cache-Control", CACHE_CONTROL), ("Vary", "Origin"), *tail], b""
        return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                     ("ETag", f'"{etag}"'), ("Cache-Control", CACHE_CONTROL), ("Vary", "Origin"), *tail], body

    def json_body(self, value: Any) -> bytes:
        """``value`` as Flask's ``jsonify`` writes it (the app's JSON provider, compact, a newline at the end)."""
        return (self.app.json.dumps(value, separators=(",", ":")) + "\n").encode()

    def _count(self, status: int, started: float) -> None:
        children = self._children.get(status)
        if children is None:
            children = self._children[status] = (metrics.HTTP_REQUESTS.labels(self.method, self.route, str(status)),
                                                 metrics.HTTP_LATENCY.labels(self.method, self.route))
        children[0].inc()
        children[1].observe(time.perf_counter() - started)


def status_line(status: int) -> str:
    """The WSGI status line of a code, as Flask writes it (``202 ACCEPTED``)."""
    return f"{status} {HTTP_STATUS_CODES[status].upper()}"


def read_body(environ: dict[str, Any]) -> bytes:
    """The body of a ``plain_json_post``, read once; the WSGI input is replaced by what was read, so Flask reads the
    same bytes when it answers."""
    raw = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


def plain_json_body(raw: bytes) -> dict[str, Any] | None:
    """The body when it is one JSON object that Flask's checks (``plugin.api.http.input_limits``) and webargs would
    both read as this value, else None (Flask judges it, and may refuse it).

    webargs reads a body with a strict UTF-8 decoding; Flask's parser also reads UTF-16/32, a byte-order mark and
    encoded surrogates. A body that starts with ``{`` followed by a non-zero byte is UTF-8 without a mark, and one
    without the byte 0xED holds no encoded surrogate (``plugin.api.queries.trigger_args`` says the same)."""
    if raw[:1] != b"{" or raw[1:2] == b"\x00" or b"\xed" in raw or json_depth_exceeds(raw):
        return None
    try:
        data = finite_json.loads(raw)
    except (ValueError, PluginError):  # not JSON, or a non-finite number: Flask's refusal
        return None
    return data if type(data) is dict else None
