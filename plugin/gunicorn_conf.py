"""gunicorn hooks for ``workflows-plugin serve``: Prometheus multi-process bookkeeping, and ``/metrics`` without
a key on ``WORKFLOWS_METRICS_ADDRESS`` (served by the arbiter, so it outlives worker restarts)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead


def when_ready(server: Any) -> None:
    """Start the keyless metrics listener when an address is configured."""
    from plugin.config import Settings
    from plugin.metrics import PendingRequestsCollector
    from plugin.store.connection import connect
    from plugin.store.inbox import Inbox

    settings = Settings.from_env()
    if not settings.metrics_address:
        return
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(PendingRequestsCollector(Inbox(connect(settings)).pending_by_query))
    host, _, port = settings.metrics_address.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]"), registry=registry)
    server.log.info("Prometheus metrics on http://%s/metrics (no key: keep this address inside the network)",
                    settings.metrics_address)


def child_exit(server: Any, worker: Any) -> None:
    """Fold a gone worker's live gauges out of the multi-process files."""
    mark_process_dead(worker.pid)
