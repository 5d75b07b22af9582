"""Inbox pages without Flask's request machinery: ``GET /api/v1/requests`` answered in front of Flask, as
``plugin.api.runs.fast_read`` answers status reads.

Panels poll the inbox as they poll a run; once a page was one Redis call (``plugin.api.requests.page``), Flask's
request context, routing, hooks and response object were most of the rest of its CPU. This WSGI layer answers the
usual page itself by the same rules and with the same parts: the key, the user and the ``read`` capability by
``plugin.access.callers``, the query arguments when they are plain (``list_args``: the values the schema would
load), the admission and the page in one Redis call (``page.read_page``), the ETag and 304 (as
``plugin.api.http.conditional``), CORS headers (``plugin.api.http.cors``) and the HTTP metrics. Anything else goes
to Flask unchanged: a refused key, arguments the schema must judge, a name filter, a caller standing in for an
absent colleague, an inbox to rebuild, a refused admission (Flask answers the 429). When the request was admitted
here, Flask is told (``ADMITTED`` in the WSGI environ), so no request is counted twice. ``tests/test_fast_page.py``
holds the answers of both ways equal, byte for byte and header for header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import redis
from flask import Flask
from werkzeug.datastructures import EnvironHeaders, MultiDict
from werkzeug.http import parse_etags

from plugin import metrics
from plugin.access.callers import check_capability, identity_of, key_of, person_required, presented_key
from plugin.api.http import abuse_limits, rate_limits
from plugin.api.http.conditional import CACHE_CONTROL, etag_of
from plugin.api.http.cors import cors_headers
from plugin.api.requests import list_args, page
from plugin.api.schemas import RequestListArgs
from plugin.errors import PluginError

log = logging.getLogger(__name__)
ADMITTED = abuse_limits.ADMITTED
PATH = "/api/v1/requests"  # also the metrics' route label, as Flask's rule names it
_ARGS = RequestListArgs()
_DEFAULTS = _ARGS.load({})
_STATUS = {200: "200 OK", 304: "304 NOT MODIFIED"}
StartResponse = Callable[..., Any]


class FastPages:
    """WSGI middleware: answers plain inbox pages itself, passes every other request to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._children: dict[int, tuple[Any, Any]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer the request here when it is a plain inbox page, else let Flask answer it."""
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            started = time.perf_counter()
            try:
                answered = self._answer(environ)
            except Exception:  # a bug here must not cost the answer: Flask answers (told of an admission made)
                log.exception("fast inbox page failed; Flask answers it")
                answered = None
            if answered is not None:
                status, headers, body = answered
                self._count(status, started)
                start_response(_STATUS[status], headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of the answer, or None for Flask to answer (``ADMITTED`` set when admitted)."""
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            return None
        args = list_args.plain_args(_ARGS, MultiDict(parse_qsl(query, keep_blank_values=True,
                                                               errors="werkzeug.url_quote")), _DEFAULTS)
        if args is None or args.get("name"):
            return None
        storage = rate_limits.joinable_storage(self.app)
        if storage is None or rate_limits.middleware_limits():
            return None  # the admission cannot be joined to the read: Flask's way
        svc = self.app.extensions["workflows"]
        headers = EnvironHeaders(environ)
        try:
            presented = presented_key(headers)
            key = key_of(headers, svc.keys, ("admin", "app"), presented)
            who = identity_of(headers, key)
            check_capability(key, who, "read")
            person_required(key, who)
        except PluginError:
            return None  # Flask refuses it, counting a failed authentication as it does
        admission = abuse_limits.admission_of(svc.settings, key.id or f"bootstrap:{key.name}", who.user,
                                              abuse_limits.key_target(presented),
                                              environ.get("REMOTE_ADDR") or "unknown")
        try:
            read = page.read_page(self.app, who, args, admission, storage)
        except redis.RedisError:
            return None  # Flask tries again, and answers 503 if Redis still fails
        environ[ADMITTED] = read.refused
        if read.page is None:
            return None
        body = read.page.to_json().encode()
        etag = etag_of(body)
        origin = environ.get("HTTP_ORIGIN")
        tail = cors_headers(self.app, origin, preflight=False) if origin is not None else []
        etags = environ.get("HTTP_IF_NONE_MATCH")
        if etags is not None and parse_etags(etags).contains_weak(etag):
            return 304, [("ETag", f'"{etag}"'), ("Cache-Control", CACHE_CONTROL), ("Vary", "Origin"), *tail], b""
        return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                     ("ETag", f'"{etag}"'), ("Cache-Control", CACHE_CONTROL), ("Vary", "Origin"), *tail], body

    def _count(self, status: int, started: float) -> None:
        children = self._children.get(status)
        if children is None:
            children = self._children[status] = (metrics.HTTP_REQUESTS.labels("GET", PATH, str(status)),
                                                 metrics.HTTP_LATENCY.labels("GET", PATH))
        children[0].inc()
        children[1].observe(time.perf_counter() - started)


def init_app(app: Flask) -> None:
    """Put the fast inbox pages in front of the app."""
    app.wsgi_app = FastPages(app, app.wsgi_app)  # type: ignore[method-assign]
