"""Fixtures for node-based workflow tests: a stub HTTP server on loopback, and a worker and an API app
whose workspace is a copy of tests/node_workspace (plus the sample apps), on their own task queue, with
the stub server on the http allow-list. Import the fixtures into a test module (module scope)."""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from plugin.config import Settings
from tests.checkout import SAMPLE_APPS
from tests.conftest import WorkerThread, auth, serve_app, serve_worker

NODE_WORKSPACE = Path(__file__).parent / "node_workspace"


class StubServer:
    """Answers each path with its queued responses (the last one repeats) and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append({"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                                      "headers": dict(self.headers), "body": json.loads(body) if body else None})
                queue = stub.routes.get(parts.path) or [(404, {"error": "no such path"})]
                status, payload = queue.pop(0) if len(queue) > 1 else queue[0]
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", payload["location"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, path: str, *responses: tuple[int, Any]) -> str:
        """Queue responses for a path; returns its full URL."""
        self.routes[path] = list(responses)
        return self.url + path

    def hits(self, path: str) -> list[dict[str, Any]]:
        """Requests received on a path."""
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    server = StubServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def node_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of tests/node_workspace that a test may edit."""
    target = tmp_path_factory.mktemp("node-ws") / "node_workspace"
    shutil.copytree(NODE_WORKSPACE, target)
    return target


@pytest.fixture(scope="module")
def node_settings(settings: Settings, node_workspace: Path, stub: StubServer) -> Settings:
    samples = tuple(sorted(p for p in SAMPLE_APPS.iterdir() if (p / "workspace.json").is_file()))
    return settings.with_overrides(workspaces=(node_workspace, *samples), task_queue=f"nodes-{uuid.uuid4().hex[:8]}",
                                   http_allow_hosts=(stub.url.removeprefix("http://"),))


@pytest.fixture(scope="module")
def node_worker(node_settings: Settings) -> Iterator[WorkerThread]:
    yield from serve_worker(node_settings)


@pytest.fixture(scope="module")
def node_app(node_settings: Settings, node_worker: WorkerThread):
    yield from serve_app(node_settings)


@pytest.fixture
def node_client(node_app):
    return node_app.test_client()


def temporal(app: Any, make: Callable[[Any], Any], timeout: float = 30.0) -> Any:
    """Run a coroutine over the app's Temporal client (``make(client)`` builds it)."""
    return app.extensions["workflows"].gateway.call(make, timeout=timeout)


def trigger(client: Any, query: str, data: dict[str, Any], user: str = "tester@example.com") -> str:
    """Start a run of a query; returns the run id."""
    response = client.post(f"/api/v1/queries/{query}/runs", headers=auth(user=user), json={"input": data})
    assert response.status_code in (200, 202), response.json
    return response.json["run_id"]


def run_of(client: Any, run_id: str, user: str = "tester@example.com") -> dict[str, Any]:
    """GET /api/v1/runs/{id} as the user (an admin key, so every run is visible)."""
    from tests.conftest import ADMIN_KEY

    response = client.get(f"/api/v1/runs/{run_id}", headers=auth(key=ADMIN_KEY, user=user))
    assert response.status_code == 200, response.json
    return response.json


def wait_run(client: Any, run_id: str, statuses: tuple[str, ...] = ("completed", "failed"),
             timeout: float = 30.0) -> dict[str, Any]:
    """Poll run detail until the run reaches one of the statuses."""
    deadline = time.monotonic() + timeout
    while True:
        run = run_of(client, run_id)
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run['status']}, not {statuses}: {run}")
        time.sleep(0.1)
