"""gunicorn settings for ``workflows-plugin serve`` (loaded with ``-c python:plugin.api.http.gunicorn_conf``).

- Errors gunicorn answers itself, before the app sees the request (a request line or header over the limits
  below, a request that is not HTTP), leave in the API's one JSON error shape instead of an HTML page.
- Each worker dies with its master: a killed master must not leave workers serving on the port.
- A request whose body the app refuses unread (over ``WORKFLOWS_MAX_BODY_BYTES``: a 413) is answered with
  ``Connection: close`` and the connection closed: gunicorn drains at most 64 KB of an unread body before it
  gives up on a keep-alive connection, and the app cannot set hop-by-hop headers itself (``pre_request``).
- Prometheus multi-process bookkeeping, and ``/metrics`` without a key on ``WORKFLOWS_METRICS_ADDRESS`` (served
  by the arbiter, so it outlives worker restarts).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
from functools import cache
from typing import Any

from gunicorn import util
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger_class = "plugin.api.http.access_log.AccessLogger"  # the default access lines, built cheaply
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

_PR_SET_PDEATHSIG = 1
_MESSAGES = {
    400: ("bad_request", "The request is not valid HTTP"),
    403: ("forbidden", "The request is not allowed"),
    414: ("uri_too_long", f"The request line (method and URL) is longer than {limit_request_line} bytes"),
    417: ("expectation_failed", "The Expect header is not supported"),
    431: ("headers_too_large", f"A request header is longer than {limit_request_field_size} bytes, or there "
                               f"are more than {limit_request_fields} headers"),
    501: ("not_implemented", "The transfer coding is not supported"),
}


def json_error(status: int, reason: str) -> bytes:
    """A complete HTTP response in the error shape, for a request the app never saw."""
    code, message = _MESSAGES.get(status, ("internal_error", "An unexpected error happened; it has been logged."))
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, json_error(int(status_int), reason))


util.write_error = _write_json_error  # gunicorn's workers call util.write_error at the time of the error


@cache
def _max_body_bytes() -> int:
    from plugin.config import Settings

    return Settings.from_env().max_body_bytes


def pre_request(worker: Any, req: Any) -> None:
    """Close the connection after a request whose body may be left unread: one declared over the body limit
    (the app answers 413 without reading it), or a chunked one (its size is known only once read, and the
    app stops reading at the limit). The answer then says ``Connection: close`` instead of keep-alive."""
    length = next((value for name, value in req.headers if name == "CONTENT-LENGTH"), None)
    chunked = any(name == "TRANSFER-ENCODING" for name, _ in req.headers)
    if chunked or (length is not None and length.isdigit() and int(length) > _max_body_bytes()):
        req.force_close()


def post_fork(server: Any, worker: Any) -> None:
    """In each worker: die (SIGKILL) when the master dies; leave at once if it already has."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        return
    if os.getppid() != server.pid:
        os._exit(1)


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
