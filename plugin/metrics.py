"""Prometheus metrics of an API process: HTTP traffic, triggers, decisions, Temporal calls, Redis errors.

Under gunicorn (``serve``) several processes answer, so ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` and each
process writes its samples there; a scrape of any of them reads all (prometheus-client's multi-process
mode). Pending requests by query are counted in Redis (the inbox read model) at scrape time. The worker's
metrics come from the Temporal SDK's own Prometheus exporter (``WORKFLOWS_WORKER_METRICS_ADDRESS``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

import redis
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter("workflows_http_requests_total", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("workflows_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
RUNS_STARTED = Counter("workflows_runs_started_total", "Runs started by a trigger (not an existing run returned)",
                       ["query"])
DECISION_LATENCY = Histogram(
    "workflows_decision_latency_seconds", "From a request opening to the decision that settled it", ["query"],
    buckets=(1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400))
TEMPORAL_LATENCY = Histogram("workflows_temporal_call_duration_seconds", "Time of a call to Temporal, by operation",
                             ["operation"],
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
TEMPORAL_ERRORS = Counter("workflows_temporal_call_errors_total", "Calls to Temporal that raised, by operation "
                          "and kind (RPC status or exception class)", ["operation", "kind"])
REDIS_ERRORS = Counter("workflows_redis_errors_total", "Redis commands that failed, by where", ["where"])


class PendingRequestsCollector:
    """``workflows_pending_requests{query}``, counted in Redis at scrape time, so every API process reports
    the same truth."""

    def __init__(self, count: Callable[[], dict[str, int]]) -> None:
        self.count = count

    def collect(self) -> Iterable[Metric]:
        """One gauge sample per query with a pending request."""
        family = GaugeMetricFamily("workflows_pending_requests", "Requests waiting for a person, by query",
                                   labels=["query"])
        try:
            counts = self.count()
        except redis.RedisError as exc:
            REDIS_ERRORS.labels("metrics").inc()
            log.warning("pending requests could not be counted: %s", exc)
            counts = {}
        for query, count in sorted(counts.items()):
            family.add_metric([query], count)
        return [family]


def exposition(pending: PendingRequestsCollector | None = None) -> tuple[bytes, str]:
    """The Prometheus text of this process (every gunicorn process, in multi-process mode) and its type."""
    if os.environ.get(MULTIPROC_ENV):
        base = CollectorRegistry()
        MultiProcessCollector(base)
    else:
        base = REGISTRY
    text = generate_latest(base)
    if pending is not None:
        extra = CollectorRegistry()
        extra.register(pending)
        text += generate_latest(extra)
    return text, CONTENT_TYPE_LATEST
