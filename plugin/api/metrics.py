"""``GET /metrics``: Prometheus text (admin key), and the HTTP metrics of every answer.

Prometheus can also scrape without a key on a separate address (``WORKFLOWS_METRICS_ADDRESS``), served by
the gunicorn arbiter (see ``plugin/api/gunicorn_conf.py``); keep that address inside the network.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from flask_smorest import Blueprint

from plugin import metrics
from plugin.api.auth import authenticate
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


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _answered(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Count and time every request the app answers, by route template (not by raw path)."""
    app.before_request(_started)
    app.after_request(_answered)
