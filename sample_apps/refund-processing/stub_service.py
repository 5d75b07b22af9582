"""A stand-in for the payments system's API (`up` starts it for the sample on the port of the workspace's
``payments`` connection; tests start it themselves on a free port).

    python sample_apps/refund-processing/stub_service.py --port 8792

- ``GET /orders/{id}``: a known order (404 otherwise).
- ``POST /refunds`` with ``{"order_id", "amount", "idempotency_key"}``: like a flaky provider, the first two
  attempts of each key answer 503; the third refunds (201). The same key again answers the same refund (200).
- ``GET /refunds``: every refund made, with the attempts each key took.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ORDERS = {
    "ord-1001": {"id": "ord-1001", "customer": "ann@example.com", "amount": 120.0, "currency": "EUR"},
    "ord-1002": {"id": "ord-1002", "customer": "ben@example.com", "amount": 89.9, "currency": "EUR"},
    "ord-1003": {"id": "ord-1003", "customer": "cat@example.com", "amount": 1450.0, "currency": "USD"},
}
FAILURES_BEFORE_SUCCESS = 2


class PaymentsHandler(BaseHTTPRequestHandler):
    """The routes of the stand-in payments API."""

    attempts: dict[str, int] = {}
    refunds: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Workflows-Sample", "refund-processing")  # lets a second `up` find and share this stand-in
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        """An order, or the refunds made."""
        path = self.path.rstrip("/")
        if path.startswith("/orders/") and path[len("/orders/"):] in ORDERS:
            self._answer(200, ORDERS[path[len("/orders/"):]])
        elif path == "/refunds":
            self._answer(200, {"refunds": list(self.refunds.values()), "attempts": self.attempts})
        else:
            self._answer(404, {"error": f"no such resource: {path}"})

    def do_POST(self) -> None:  # noqa: N802
        """A refund, failing with 503 for the first attempts of each idempotency key."""
        if self.path.rstrip("/") != "/refunds":
            self._answer(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            key, order = str(body["idempotency_key"]), ORDERS[body["order_id"]]
        except (ValueError, KeyError):
            self._answer(422, {"error": "order_id (a known order), amount and idempotency_key are required"})
            return
        with self.lock:
            if key in self.refunds:
                self._answer(200, self.refunds[key])
                return
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if self.attempts[key] <= FAILURES_BEFORE_SUCCESS:
                self._answer(503, {"error": "the payments provider is busy, try again"})
                return
            refund = {"refund_id": f"re_{len(self.refunds) + 1:04d}", "order_id": order["id"],
                      "amount": body.get("amount"), "currency": order["currency"], "key": key}
            self.refunds[key] = refund
        self._answer(201, refund)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""


def serve(port: int) -> ThreadingHTTPServer:
    """Start the stand-in on 127.0.0.1:``port`` in a thread; ``shutdown()`` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), PaymentsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), PaymentsHandler).serve_forever()
