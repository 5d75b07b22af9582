"""``GET /metrics``: Prometheus text (admin key), and the HTTP metrics of every answer.

Prometheus can also scrape without a key on a separate address (``WORKFLOWS_METRICS_ADDRESS``), served by
the gunicorn arbiter (see ``plugin/api/http/gunicorn_conf.py``); keep that address inside the network.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request
from flask_smorest import Blueprint

from plugin import metrics
from plugin.api.http.auth import authenticate
from plugin.api.services import services

bp = Blueprint("metrics", __name__, description="Prometheus metrics")


@bp.route("/metrics")
@bp.response(200, description="Prometheus text format", content_type="text/plain")
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
def get_metrics():
    """Metrics of the API processes (HTTP, triggers, decisions, Temporal calls, Redis errors, pending
    requests by query). Needs an admin key."""
    authenticate(("admin",))
    body, content_type = metrics.exposition(metrics.PendingRequestsCollector(services().inbox.pending_by_query))
    return Response(body, content_type=content_type)


# (method, route template, status) -> the counter and the histogram of those labels: looked up once, not on every
# answer (a route template and a status are few, so this stays small).
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _answered(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        rule = request.url_rule
        labels = (request.method, rule.rule if rule is not None else "unmatched", response.status_code)
        children = _CHILDREN.get(labels)
        if children is None:
            method, route, status = labels
            children = _CHILDREN[labels] = (metrics.HTTP_REQUESTS.labels(method, route, str(status)),
                                            metrics.HTTP_LATENCY.labels(method, route))
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Count and time every request the app answers, by route template (not by raw path)."""
    app.before_request(_started)
    app.after_request(_answered)
