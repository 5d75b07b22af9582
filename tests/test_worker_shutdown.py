"""A stopping worker lets its running activities finish (WORKFLOWS_WORKER_SHUTDOWN_GRACE, inside the platform's
grace period) instead of cancelling them at once: SIGTERM to a real `workflows-plugin worker` in the middle of a
slow http step; the call completes once, and the run completes on the next worker without a second attempt."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import serve_app, serve_worker
from tests.connections_helpers import write_workspace
from tests.fixtures_nodes import trigger, wait_run
from tests.test_expense_flow import wait_for
from tests.test_run_contract import steps_of
from tests.test_shared_secrets import worker_process

SLOW_SECONDS = 3.0


class SlowApi:
    """An API on 127.0.0.1 that takes SLOW_SECONDS to answer, counting calls begun and answered."""

    def __init__(self) -> None:
        self.begun = 0
        self.answered = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.begun += 1
                time.sleep(SLOW_SECONDS)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.answered += 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.hostport = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.timeout(120)
def test_sigterm_lets_a_running_activity_finish(settings, tmp_path):
    api = SlowApi()
    folder = write_workspace(tmp_path / "ws", {"slow": {"kind": "http", "base_url": f"http://{api.hostport}"}},
                             {"slow_call": {"steps": [{"id": "call", "kind": "http", "connection": "slow",
                                                       "path": "/slow"}],
                                            "output": {"status": "{{ steps.call.output.status }}"}}})
    own = settings.with_overrides(workspaces=(folder,), task_queue=f"drain-{uuid.uuid4().hex[:8]}",
                                  http_allow_hosts=(api.hostport,), worker_shutdown_grace=20.0)
    worker = worker_process(own, tmp_path / "data")
    for app in serve_app(own):
        client = app.test_client()
        run_id = trigger(client, "slow_call", {})
        wait_for(lambda: api.begun == 1)
        stopping = time.monotonic()
        os.killpg(worker.pid, signal.SIGTERM)
        code = worker.wait(60)
        assert code == 0 and api.answered == 1, (code, api.answered)
        assert time.monotonic() - stopping >= SLOW_SECONDS - 1.5  # it waited for the call
        for _ in serve_worker(own):  # the next worker finishes the run from the activity's recorded result
            run = wait_run(client, run_id)
            assert run["status"] == "completed" and run["output"] == {"status": 200}, run
            steps = steps_of(client, run_id)
            assert [s["attempts"] for s in steps if s["name"] == "call"] == [1], steps
        assert api.begun == 1
    api.server.shutdown()
