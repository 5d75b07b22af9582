"""A worker killed while it sends a notification: the notification is sent again by the next worker, soon.

A killed worker tells Temporal nothing, so an activity it had started is only tried again on a timeout. The
notify activity heartbeats and has a heartbeat timeout, so its retry comes within seconds, not at its 30 s
start-to-close timeout (the run waited on it; ``finished()`` gave up first: the flaky killed-worker test). And
the retry really sends it: the "sent" mark is written once the hook answered, not claimed before sending.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, TimeoutType

from plugin.api import create_app
from plugin.embedded.processes import ManagedProcess, spawn, wait_until
from tests.conftest import ADMIN_KEY, auth
from tests.notification_helpers import RUNTIME_CACHE_SECONDS
from tests.requests_helpers import act, finished, person, start_probe
from tests.test_expense_flow import wait_for


class StallingHook:
    """A notification hook on 127.0.0.1: the first POST that names ``user`` hangs until ``released`` is set (a
    notification of another test's run does not); every other one is answered 200 at once."""

    def __init__(self, user: str) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.user = user
        self.released = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                hook.bodies.append(body)
                if hook.user in body["users"] and hook.sent(body["request"]["id"]) == 1:
                    hook.released.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the first POST's worker is dead by now

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent(self, request_id: str) -> int:
        """How many "assigned" notifications of the request reached the hook."""
        return sum(1 for b in self.bodies if b["request"]["id"] == request_id and b["kind"] == "assigned")

    def stalled(self) -> str | None:
        """The id of the request whose notification hangs, once it has arrived."""
        return next((b["request"]["id"] for b in self.bodies if self.user in b["users"]), None)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def own_stack(settings, tmp_path: Path) -> Iterator[tuple[Any, StallingHook, list[ManagedProcess]]]:
    """An app and a worker process on a task queue of their own, notifications going to a stalling hook."""
    own = settings.with_overrides(task_queue=f"killed-{uuid.uuid4().hex[:8]}")
    app = create_app(own)
    hook = StallingHook(person("boss"))
    admin = app.test_client()
    answer = admin.patch("/api/v1/settings", headers=auth(ADMIN_KEY),
                         json={"notify_url": f"http://{hook.host}/notify", "http_allow_hosts": [hook.host]})
    assert answer.status_code == 200, answer.json
    time.sleep(RUNTIME_CACHE_SECONDS)
    workers: list[ManagedProcess] = []
    try:
        yield app, hook, workers
    finally:
        for worker in workers:
            worker.stop()
        admin.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json={"notify_url": None, "http_allow_hosts": None})
        time.sleep(RUNTIME_CACHE_SECONDS)
        hook.close()
        app.extensions["workflows"].gateway.close()


def test_a_notification_cut_off_by_a_killed_worker_is_sent_again_soon(own_stack, tmp_path):
    app, hook, workers = own_stack
    client = app.test_client()
    env = app.extensions["workflows"].settings.to_env()

    def start_worker() -> ManagedProcess:
        worker = spawn("Worker", [sys.executable, "-m", "plugin.cli", "worker"], tmp_path / "worker.log", env,
                       cwd=Path(os.getcwd()))
        workers.append(worker)
        return worker

    first = start_worker()
    wait_until(first, lambda: client.get("/readyz").status_code == 200, 60, "polling")
    boss = hook.user
    run_id = start_probe(client, person("req"), [{"name": "Cut off", "users": [boss]}])
    request_id = wait_for(hook.stalled, timeout=60)  # the worker is inside the notify activity, on the hook
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    hook.released.set()  # the dead worker's call is answered into the void
    start_worker()

    # Without the fix the retry waits for the 30 s start-to-close timeout, and then skips the send.
    wait_for(lambda: hook.sent(request_id) >= 2, timeout=90)
    assert wait_for(lambda: (r := act(client, request_id, boss, resolution="Approve")).status_code != 503 and r,
                    timeout=60).status_code == 200
    assert finished(client, run_id)["output"]["outcomes"][0]["resolution"] == "Approve"

    history = app.extensions["workflows"].gateway.call(
        lambda c: c.get_workflow_handle(run_id).fetch_history(), timeout=30)
    notify = {e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
              and e.activity_task_scheduled_event_attributes.activity_type.name == "notify"}
    [started] = [e.activity_task_started_event_attributes for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
                 and e.activity_task_started_event_attributes.scheduled_event_id in notify]
    assert started.attempt >= 2, "the notification was tried again"
    timeout = started.last_failure.timeout_failure_info.timeout_type
    assert timeout == TimeoutType.TIMEOUT_TYPE_HEARTBEAT, TimeoutType.Name(timeout)
