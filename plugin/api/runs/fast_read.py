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

import re
from typing import Any

import redis
from flask import Flask

from plugin.api.front import ADMITTED, Answer, FrontRoute
from plugin.api.runs import answers

ROUTE = "/api/v1/runs/<run_id>"  # the metrics' route label, as Flask's rule names it
_PATH = re.compile(r"/api/v1/runs/([A-Za-z0-9_.:@=+\-]{1,255})")  # ids with other characters go to Flask


class FastReads(FrontRoute):
    """Answers snapshot reads of runs in front of Flask (``plugin.api.front``)."""

    route = ROUTE

    def match(self, environ: dict[str, Any]) -> tuple[str] | None:
        """The run id of ``GET /api/v1/runs/{id}``."""
        found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        return (found.group(1),) if found else None

    def answer(self, environ: dict[str, Any], *matched: Any) -> Answer | None:
        """The run from a trusted snapshot the caller may see; None for Flask to answer."""
        caller = self.caller(environ)
        if caller is None:
            return None
        try:
            refused, raw = answers.admit_and_read(self.app, matched[0], caller.admission, caller.storage)
        except redis.RedisError:
            return None  # Flask tries again, and answers 503 if Redis still fails
        environ[ADMITTED] = refused
        if refused is not None:
            return None
        encoded = answers.from_snapshot(self.app, raw)
        if encoded is None or not encoded.visible_to(caller.who):
            return None
        return self.json_answer(environ, encoded.body, encoded.etag)


def init_app(app: Flask) -> None:
    """Put the fast status reads in front of the app."""
    app.wsgi_app = FastReads(app, app.wsgi_app)  # type: ignore[method-assign]
