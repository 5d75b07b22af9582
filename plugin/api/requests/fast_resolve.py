"""Decisions without Flask's request machinery: ``POST /api/v1/requests/{id}/resolve`` decided in front of Flask.

A decision is on the path people wait on (the button pressed, the run moving on), and each millisecond the API
spends before it sends the update is added to it (issue 26: decision round trip against raw Temporal). This WSGI
layer, in front of the Flask app, makes the usual decision itself, by the same rules and with the same parts as the
view (``plugin.api.requests.views.resolve``): the key, the user and the ``decide`` capability (with its rule that a
browser-editable header never decides) by ``plugin.access.callers``, the body as ``ResolveBody`` loads it, the
admission joined to the lock's first try (``admitted_lock``), ``resolve_one`` (lock, signing, update, inbox write,
a repeated decision answered as it stands), the answer as ``RequestSchema`` writes it, CORS headers and the HTTP
metrics.

The usual decision: no query arguments, a JSON body of one object that ``ResolveBody`` accepts, a caller who names a
person. Anything else goes to Flask unchanged (the body handed on as read), which answers it or refuses it in the
error shape; so does a decision refused by the admission (Flask answers the 429, told by ``ADMITTED``, so it is
counted once). Once the decision is under way it is answered here, whatever happens (an error in the one error
shape), so it is never sent twice. ``tests/test_fast_resolve.py`` holds the answers of both ways equal, header for
header.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g
from marshmallow import ValidationError

from plugin.api.front import ADMITTED, Answer, FrontRoute, plain_json_body, read_body
from plugin.api.http import rate_limits
from plugin.api.http.errors import answer_for
from plugin.api.requests.admitted_lock import first_try_for
from plugin.api.requests.views import REQUEST_SCHEMA, resolve_one
from plugin.api.schemas import ResolveBody
from plugin.models import ResolveInput

ROUTE = "/api/v1/requests/<request_id>/resolve"  # the metrics' route label, as Flask's rule names it
_PATH = re.compile(r"/api/v1/requests/([A-Za-z0-9_.:@=+\-]{1,255})/resolve")  # other ids go to Flask
_BODY = ResolveBody()


class FastResolves(FrontRoute):
    """Makes plain decisions in front of Flask (``plugin.api.front``)."""

    route = ROUTE
    method = "POST"

    def match(self, environ: dict[str, Any]) -> tuple[str] | None:
        """The request id of a plain ``POST /api/v1/requests/{id}/resolve`` with a JSON body."""
        found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        return (found.group(1),) if found is not None and self.plain_json_post(environ) else None

    def answer(self, environ: dict[str, Any], *matched: Any) -> Answer | None:
        """The decided request (200) when the decision is the usual one; None for Flask to answer."""
        caller = self.caller(environ, "decide")
        if caller is None or not caller.who.user:  # a decision is always a named person's, admin keys' too
            return None
        body = plain_json_body(read_body(environ))
        if body is None:
            return None
        try:
            loaded = _BODY.load(body)
        except ValidationError:
            return None  # Flask names the refused fields
        with self.app.app_context():
            g.key, g.identity = caller.key, caller.who
            update = ResolveInput(request_id=matched[0], resolution=loaded["resolution"], identity=caller.who,
                                  comment=loaded["comment"], payload=loaded["payload"])
            try:
                request = resolve_one(update, first_try_for(caller.admission))[0]
            except rate_limits.RateLimited as refused:  # refused by the admission: no lock taken, nothing sent
                environ[ADMITTED] = refused
                return None
            except Exception as exc:  # under way: answered here, never sent again by Flask
                response, status = answer_for(exc)
                return self.json_answer(environ, response.get_data(), status=status)
            return self.json_answer(environ, self.json_body(REQUEST_SCHEMA.dump(request)))


def init_app(app: Flask) -> None:
    """Put the fast decisions in front of the app."""
    app.wsgi_app = FastResolves(app, app.wsgi_app)  # type: ignore[method-assign]
