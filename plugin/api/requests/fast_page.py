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

from typing import Any
from urllib.parse import parse_qsl

import redis
from flask import Flask
from werkzeug.datastructures import MultiDict

from plugin.api.front import ADMITTED, Answer, FrontRoute
from plugin.api.http.conditional import etag_of
from plugin.api.plain_args import plain_args
from plugin.api.requests import page
from plugin.api.schemas import RequestListArgs

PATH = "/api/v1/requests"  # also the metrics' route label, as Flask's rule names it
_ARGS = RequestListArgs()
_DEFAULTS = _ARGS.load({})


class FastPages(FrontRoute):
    """Answers plain inbox pages in front of Flask (``plugin.api.front``)."""

    route = PATH

    def match(self, environ: dict[str, Any]) -> tuple[()] | None:
        """``GET /api/v1/requests``."""
        return () if environ.get("PATH_INFO") == PATH else None

    def answer(self, environ: dict[str, Any], *matched: Any) -> Answer | None:
        """The page when its arguments are plain and it needs no name filter, delegate or rebuild; None for Flask."""
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            return None
        args = plain_args(_ARGS, MultiDict(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")),
                          _DEFAULTS)
        if args is None or args.get("name"):
            return None
        caller = self.caller(environ)
        if caller is None:
            return None
        try:
            read = page.read_page(self.app, caller.who, args, caller.admission, caller.storage)
        except redis.RedisError:
            return None  # Flask tries again, and answers 503 if Redis still fails
        environ[ADMITTED] = read.refused
        if read.page is None:
            return None
        body = read.page.to_json().encode()
        return self.json_answer(environ, body, etag_of(body))


def init_app(app: Flask) -> None:
    """Put the fast inbox pages in front of the app."""
    app.wsgi_app = FastPages(app, app.wsgi_app)  # type: ignore[method-assign]
