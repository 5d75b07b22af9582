"""A stand-in for the team chat that expense decisions are posted to, and for the company directory that says
who manages whom (`up` starts it for the sample on the port of the workspace's ``team_chat`` and ``directory``
connections; tests start it themselves on a free port).

    python sample_apps/expense-approval/stub_service.py --port 8791

``POST /messages`` with ``{"channel", "text"}`` answers 201 with the stored message; ``GET /messages`` lists them.
``GET /directory/people/{email}`` answers ``{"email", "manager"}`` (404 for someone it does not know).
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

# Who manages whom: in production the workspace's directory connection points at your HR system or IdP instead.
DIRECTORY = {"ann@example.com": "bob@example.com", "cat@example.com": "bob@example.com",
             "dan@example.com": "eve@example.com", "bob@example.com": "dir@example.com"}


class ChatHandler(BaseHTTPRequestHandler):
    """The routes of the stand-in chat and directory."""

    messages: list[dict[str, Any]] = []

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Workflows-Sample", "expense-approval")  # lets a second `up` find and share this stand-in
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        """List the messages posted so far, or look a person up in the directory."""
        path = self.path.rstrip("/")
        person = unquote(path.removeprefix("/directory/people/")).lower() if path.startswith("/directory/people/") \
            else None
        if path == "/messages":
            self._answer(200, {"messages": self.messages})
        elif person is not None and person in DIRECTORY:
            self._answer(200, {"email": person, "manager": DIRECTORY[person]})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        """Store a message."""
        if self.path.rstrip("/") != "/messages":
            self._answer(404, {"error": "not found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        except ValueError:
            self._answer(400, {"error": "the body must be JSON"})
            return
        message = {"id": len(self.messages) + 1, "channel": body.get("channel"), "text": body.get("text")}
        self.messages.append(message)
        self._answer(201, message)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: `up` keeps the children's output in its logs only when asked."""


def serve(port: int) -> ThreadingHTTPServer:
    """Start the stand-in on 127.0.0.1:``port`` in a thread; ``shutdown()`` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), ChatHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), ChatHandler).serve_forever()
