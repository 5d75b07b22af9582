"""`workflows-plugin up` as a user runs it: real child processes, Ctrl-C, resume, clear start-up errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from plugin.embedded.processes import free_port, port_in_use
from tests.test_expense_flow import wait_for

CLI = [sys.executable, "-m", "plugin.cli", "up"]


class Up:
    """One `up` process with its own data dir and ports, output captured to a file."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {
            **os.environ, "WORKFLOWS_DATA_DIR": str(data_dir), "WORKFLOWS_PORT": str(self.port),
            "WORKFLOWS_TEMPORAL_PORT": str(free_port()), "WORKFLOWS_TEMPORAL_UI_PORT": str(free_port()),
            "WORKFLOWS_EVENTS_PORT": str(free_port()),
            "WORKFLOWS_API_WORKERS": "1", "WORKFLOWS_API_THREADS": "4", **env,
        }
        for name in ("WORKFLOWS_TEMPORAL_ADDRESS", "WORKFLOWS_REDIS_URL", "WORKFLOWS_ADMIN_KEY", "WORKFLOWS_APP_KEY"):
            if name not in env:
                self.env.pop(name, None)
        self.out_path = data_dir.parent / f"{data_dir.name}-up-{time.monotonic_ns()}.out"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Up:
        self.started = time.monotonic()
        self.out = open(self.out_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(CLI, stdout=self.out, stderr=subprocess.STDOUT, env=self.env)
        return self

    def output(self) -> str:
        return self.out_path.read_text()

    def wait_ready(self, timeout: float = 90) -> float:
        wait_for(lambda: "Ready in" in self.output() or self.proc.poll() is not None, timeout, 0.2)
        assert "Ready in" in self.output(), self.output()
        return time.monotonic() - self.started

    def key(self, scope: str) -> str:
        return re.search(rf"{scope.capitalize()} key\s+(\S+)", self.output()).group(1)

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.out.close()
        return code

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def headers(key: str, user: str, groups: str = "") -> dict[str, str]:
    out = {"Authorization": f"Bearer {key}", "X-Workflows-User": user}
    if groups:
        out["X-Workflows-Groups"] = groups
    return out


def children_of(data_dir: Path) -> list[str]:
    """Processes whose command line names this data dir (temporal and redis carry it)."""
    found = subprocess.run(["pgrep", "-af", str(data_dir)], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


@pytest.mark.slow
def test_up_runs_the_expense_flow_across_a_restart(tmp_path: Path):
    data_dir = tmp_path / "data"
    first = Up(data_dir).start()
    try:
        seconds = first.wait_ready()
        print(f"\nup -> ready in {seconds:.1f}s")
        out = first.output()
        assert "Starting Temporal dev server" in out and "Temporal UI" in out and "API " in out
        assert "trusts X-Workflows-User headers" in out, "the banner says the dev app key trusts headers"
        app_key = first.key("app")
        assert requests.get(first.url("/readyz"), timeout=5).json() == {
            "status": "ok", "temporal": "ok", "redis": "ok", "worker": "ok"}
        assert (data_dir / "temporal.db").exists() and (data_dir / "appendonly.aof").exists()

        ann = "ann@example.com"
        started = requests.post(first.url("/api/v1/queries/submit_expense/runs"), headers=headers(app_key, ann),
                                json={"input": {"employee": ann, "amount": 640, "description": "Conference"}},
                                timeout=10)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        run_url = first.url(f"/api/v1/runs/{run_id}")
        wait_for(lambda: requests.get(run_url, headers=headers(app_key, ann), timeout=10).json()["status"]
                 == "waiting")
    finally:
        code = first.stop()
    assert code == 0, first.output()
    assert "Stopped." in first.output()
    assert children_of(data_dir) == [], "up left processes behind"
    assert not port_in_use(first.port)

    second = Up(data_dir)
    second.port, second.env["WORKFLOWS_PORT"] = first.port, str(first.port)
    second.start()
    try:
        second.wait_ready()
        assert second.key("app") == app_key, "keys are kept in the data dir"
        run = requests.get(run_url, headers=headers(app_key, ann), timeout=10).json()
        assert run["status"] == "waiting", run

        bob = headers(app_key, "bob@example.com", "managers")
        inbox = wait_for(lambda: requests.get(second.url("/api/v1/requests"), headers=bob, timeout=10).json()
                         ["requests"])
        [request] = [r for r in inbox if r["run_id"] == run_id]
        assert request["resolutions"] == ["Approve", "Reject"]
        resolved = requests.post(second.url(f"/api/v1/requests/{request['id']}/resolve"), headers=bob,
                                 json={"resolution": "Approve"}, timeout=10)
        assert resolved.status_code == 200, resolved.text
        run = wait_for(lambda: (r := requests.get(run_url, headers=headers(app_key, ann), timeout=10).json())
                       ["status"] == "completed" and r)
        assert run["output"]["approved"] is True
        assert run["output"]["decision"]["by"] == "bob@example.com"
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.output()
    assert children_of(data_dir) == []


def test_port_in_use_is_one_clear_line(tmp_path: Path):
    up = Up(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", up.port))
        taken.listen()
        up.start()
        assert up.proc.wait(30) == 1
        up.out.close()
    assert f"Port {up.port} (for the API) is already in use" in up.output()
    assert "WORKFLOWS_PORT" in up.output()
    assert "Traceback" not in up.output()


def test_unreachable_temporal_address_is_one_clear_line(tmp_path: Path):
    up = Up(tmp_path / "data", WORKFLOWS_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}").start()
    assert up.proc.wait(60) == 1
    up.out.close()
    assert "does not answer" in up.output() and "WORKFLOWS_TEMPORAL_ADDRESS" in up.output()
    assert "Traceback" not in up.output()


def test_bad_setting_is_one_clear_line(tmp_path: Path):
    up = Up(tmp_path / "data", WORKFLOWS_PORT="eighty").start()
    assert up.proc.wait(30) != 0
    up.out.close()
    assert "WORKFLOWS_PORT='eighty' is not a whole number" in up.output()
    assert "Traceback" not in up.output()


def test_up_uses_given_temporal_and_redis(tmp_path: Path, temporal_address: str, redis_url: str):
    data_dir = tmp_path / "data"
    up = Up(data_dir, WORKFLOWS_TEMPORAL_ADDRESS=temporal_address, WORKFLOWS_REDIS_URL=redis_url,
            WORKFLOWS_TASK_QUEUE=f"up-{free_port()}").start()
    try:
        up.wait_ready()
        assert "Temporal: using" in up.output() and "Redis: using" in up.output()
        assert not (data_dir / "temporal.db").exists() and not (data_dir / "appendonly.aof").exists()
    finally:
        assert up.stop() == 0


def test_up_starts_the_events_edge_points_stream_tokens_at_it_and_restarts_it(tmp_path: Path, temporal_address: str,
                                                                              redis_url: str):
    up = Up(tmp_path / "data", WORKFLOWS_TEMPORAL_ADDRESS=temporal_address, WORKFLOWS_REDIS_URL=redis_url,
            WORKFLOWS_TASK_QUEUE=f"up-{free_port()}").start()
    edge = f"http://127.0.0.1:{up.env['WORKFLOWS_EVENTS_PORT']}"
    try:
        up.wait_ready()
        assert f"Live events  {edge}/api/v1/events" in up.output()
        token = requests.post(up.url("/api/v1/events/token"), headers=headers(up.key("app"), "ann@example.com"),
                              timeout=10).json()
        assert token["url"].startswith(f"{edge}/api/v1/events?token="), token
        origin = f"http://127.0.0.1:{up.port}"  # the panels' origin: the edge lets it read the stream
        with requests.get(token["url"], headers={"Origin": origin}, stream=True, timeout=10) as opened:
            assert opened.status_code == 200 and opened.headers["Access-Control-Allow-Origin"] == origin
            assert b"connected" in next(opened.iter_content(chunk_size=None))

        [pid] = subprocess.run(["pgrep", "-P", str(up.proc.pid), "-f", "plugin.cli events"], capture_output=True,
                               text=True).stdout.split()
        os.kill(int(pid), signal.SIGKILL)
        wait_for(lambda: "Events is back" in up.output(), 30)
        assert "Events exited with code -9; restarting it" in up.output()
        assert requests.get(f"{edge}/healthz", timeout=2).json()["status"] == "ok"
    finally:
        assert up.stop() == 0, up.output()
