"""Status reads without Flask's request machinery: ``GET /api/v1/runs/{id}`` answered from a trusted snapshot.

Panels poll a run's status every few seconds, so this is the API's most frequent call; Flask's request context,
routing, hooks and response object were most of its CPU once the answer itself was cached (docs/performance.md).
This WSGI layer, in front of the Flask app, answers the usual case itself by the same rules and with the same
parts: the key, the user and the ``read`` capability by ``plugin.access.callers`` (as the Flask API and the events
edge), the admission and the snapshot in one Redis call (``answers.ADMIT_AND_READ``), the encoded answers and
their ETag (``answers``), CORS headers (``plugin.api.http.cors``) and the HTTP metrics. It answers only a 200 or a
304 from a trusted snapshot the caller may see. Anything else goes to Flask unchanged: a refused key (Flask
counts the failure and answers in the error shape), a preflight, a run that is not cached, stale or not the
caller's, an answer from Temporal. When the request was already admitted here, Flask is told (``ADMITTED`` in the
WSGI environ: nothing, or the 429 to answer), so no request is counted twice. ``tests/test_fast_read.py`` holds the
answers of both ways equal, byte for byte and header for header.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from flask import Flask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import parse_etags

from plugin import metrics
from plugin.access.callers import check_capability, identity_of, key_of, person_required, presented_key
from plugin.api.http import abuse_limits, rate_limits
from plugin.api.http.conditional import CACHE_CONTROL
from plugin.api.http.cors import cors_headers
from plugin.api.runs import answers
from plugin.errors import PluginError

log = logging.getLogger(__name__)
# The WSGI environ entry telling Flask this request was admitted here: None (admitted), or the 429 to raise.
ADMITTED = abuse_limits.ADMITTED
ROUTE = "/api/v1/runs/<run_id>"  # the metrics' route label, as Flask's rule names it
_PATH = re.compile(r"/api/v1/runs/([A-Za-z0-9_.:@=+\-]{1,255})")  # ids with other characters go to Flask
_STATUS = {200: "200 OK", 304: "304 NOT MODIFIED"}
StartResponse = Callable[..., Any]


class FastReads:
    """WSGI middleware: answers snapshot reads of runs itself, passes every other request to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._children: dict[int, tuple[Any, Any]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer the request here when it is a plain status read, else let Flask answer it."""
        if environ.get("REQUEST_METHOD") == "GET" and (found := _PATH.fullmatch(environ.get("PATH_INFO", ""))):
            started = time.perf_counter()
            try:
                answered = self._answer(environ, found.group(1))
            except Exception:  # a bug here must not cost the answer: Flask answers (told of an admission made)
                log.exception("fast status read of %s failed; Flask answers it", found.group(1))
                answered = None
            if answered is not None:
                status, headers, body = answered
                self._count(status, started)
                start_response(_STATUS[status], headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict[str, Any], run_id: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of the answer, or None for Flask to answer (``ADMITTED`` set when admitted)."""
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
        address = environ.get("REMOTE_ADDR") or "unknown"
        admission = abuse_limits.admission_of(svc.settings, key.id or f"bootstrap:{key.name}", who.user,
                                              abuse_limits.key_target(presented), address)
        try:
            refused, raw = answers.admit_and_read(self.app, run_id, admission, storage)
        except redis.RedisError:
            return None  # Flask tries again, and answers 503 if Redis still fails
        environ[ADMITTED] = refused
        if refused is not None:
            return None
        encoded = answers.from_snapshot(self.app, raw)
        if encoded is None or not encoded.visible_to(who):
            return None
        origin = environ.get("HTTP_ORIGIN")
        tail = cors_headers(self.app, origin, preflight=False) if origin is not None else []
        etags = environ.get("HTTP_IF_NONE_MATCH")
        if etags is not None and parse_etags(etags).contains_weak(encoded.etag):
            return 304, [("ETag", f'"{encoded.etag}"'), ("Cache-Control", CACHE_CONTROL), ("Vary", "Origin"),
                         *tail], b""
        return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(encoded.body))),
                     ("ETag", f'"{encoded.etag}"'), ("Cache-Control", CACHE_CONTROL), ("Vary", "Origin"),
                     *tail], encoded.body

    def _count(self, status: int, started: float) -> None:
        children = self._children.get(status)
        if children is None:
            children = self._children[status] = (metrics.HTTP_REQUESTS.labels("GET", ROUTE, str(status)),
                                                 metrics.HTTP_LATENCY.labels("GET", ROUTE))
        children[0].inc()
        children[1].observe(time.perf_counter() - started)


def init_app(app: Flask) -> None:
    """Put the fast status reads in front of the app."""
    app.wsgi_app = FastReads(app, app.wsgi_app)  # type: ignore[method-assign]
