"""Plain triggers without Flask's request machinery: ``POST /api/v1/queries/{name}/runs`` started in front of Flask.

Apps trigger runs in bursts (a form submitted by many people, a bulk import), and each trigger's API CPU is taken
from Temporal on a small machine (issue 26: trigger throughput against raw starts). This WSGI layer, in front of
the Flask app, answers the usual trigger itself, by the same rules and with the same parts as the view
(``plugin.api.queries.views.trigger``): the key, the user and the ``trigger`` capability by ``plugin.access.callers``,
the admission (``plugin.api.http.abuse_limits``), the body limits of ``plugin.api.http.input_limits``, the query's
input schema, ``triggering.start`` (which records the start for run history) and the view's answer, CORS headers and
the HTTP metrics.

The usual trigger: no query arguments, no Idempotency-Key, a query without a business key or a wait, a JSON body
of one ``input`` object that the schema accepts as sent. Anything else goes to Flask unchanged (the body handed on
as read), which answers it or refuses it in the error shape: a refused key (Flask counts the failure), a body that
Flask's checks must judge, an input with a refused field. A request admitted here is marked (``ADMITTED``), so it
is never counted twice. Once the start was asked of Temporal the request is answered here whatever happens (an
error in the one error shape), so a run is never started twice. ``tests/test_fast_trigger.py`` holds the answers of
both ways equal, header for header.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g
from marshmallow import ValidationError

from plugin.api.front import ADMITTED, Answer, FrontRoute, plain_json_body, read_body
from plugin.api.http import rate_limits
from plugin.api.http.auth import actor_name
from plugin.api.http.errors import answer_for
from plugin.api.queries import triggering
from plugin.api.queries.views import app_name_of, new_run_id, started_answer
from plugin.api.runs.paths import script_root_of
from plugin.errors import PluginError
from plugin.store.idempotency import fingerprint
from plugin.workspace.loader import Query

ROUTE = "/api/v1/queries/<name>/runs"  # the metrics' route label, as Flask's rule names it
_PATH = re.compile(r"/api/v1/queries/([A-Za-z0-9_\-]{1,100})/runs")  # other names go to Flask


class FastTriggers(FrontRoute):
    """Starts plain triggers in front of Flask (``plugin.api.front``)."""

    route = ROUTE
    method = "POST"

    def match(self, environ: dict[str, Any]) -> tuple[str] | None:
        """The query name of a plain ``POST /api/v1/queries/{name}/runs`` (a JSON body, no Idempotency-Key)."""
        found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if found is None or environ.get("HTTP_IDEMPOTENCY_KEY", "").strip() or not self.plain_json_post(environ):
            return None
        return (found.group(1),)

    def answer(self, environ: dict[str, Any], *matched: Any) -> Answer | None:
        """The trigger's 202 when it is the usual one; None for Flask to answer (``ADMITTED`` set when admitted)."""
        svc = self.app.extensions["workflows"]
        query = svc.workspace.queries.get(matched[0])
        if query is None or query.run_id_template or query.wait_seconds:
            return None
        caller = self.caller(environ, "trigger")
        if caller is None:
            return None
        body = plain_json_body(read_body(environ))
        if body is None or len(body) != 1 or type(body.get("input")) is not dict:
            return None
        try:
            app_name = app_name_of(environ.get("HTTP_X_WORKFLOWS_APP", ""))
        except PluginError:
            return None
        with self.app.app_context():
            try:
                rate_limits.admit(caller.admission)
            except rate_limits.RateLimited as refused:
                environ[ADMITTED] = refused
                return None
            environ[ADMITTED] = None
            try:
                data = query.input_schema.load(body["input"])
            except ValidationError:
                return None  # Flask names the refused fields (or drops a blank optional one)
            g.key, g.identity = caller.key, caller.who
            try:
                return self._start(environ, query, data, app_name)
            except Exception as exc:  # asked of Temporal: answered here, never started again by Flask
                response, status = answer_for(exc)
                return self.json_answer(environ, response.get_data(), status=status)

    def _start(self, environ: dict[str, Any], query: Query, data: dict[str, Any], app_name: str) -> Answer:
        """Start the run under a new id and answer as the view does (202)."""
        run_id = new_run_id(query)
        result = triggering.start(query, data, run_id, actor_name(), app=app_name,
                                  memo={"fingerprint": fingerprint(query.name, data)})
        answer = started_answer(query, run_id, result, script_root_of(environ))
        if not result.started:
            answer["status"] = self.app.extensions["workflows"].runs.read(run_id)["status"]
        return self.json_answer(environ, self.json_body(answer), status=202)


def init_app(app: Flask) -> None:
    """Put the fast triggers in front of the app."""
    app.wsgi_app = FastTriggers(app, app.wsgi_app)  # type: ignore[method-assign]
