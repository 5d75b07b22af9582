"""Helpers for the fault tests: one `up` stack, its children by role, expense runs and their decisions."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.test_expense_flow import wait_for
from tests.test_up import Up, headers

# The API answers within its own timeouts (resolve: update wait 8 s + 7 s); anything slower is a hang.
HANG_SECONDS = 20.0
BOSS_GROUPS = "managers"


def children(up: Up) -> dict[str, int]:
    """``up``'s children by role: temporal, redis, worker, api (the gunicorn master)."""
    out = subprocess.run(["pgrep", "-P", str(up.proc.pid)], capture_output=True, text=True).stdout
    found: dict[str, int] = {}
    for pid in (int(p) for p in out.split()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        role = ("temporal" if "start-dev" in cmd else "redis" if "redis-server" in cmd else
                "worker" if "plugin.cli worker" in cmd else "api" if "gunicorn" in cmd or "plugin.cli serve" in cmd
                else None)
        if role:
            found[role] = pid
    return found


def kill(up: Up, role: str) -> int:
    """SIGKILL one child of ``up``; returns its pid."""
    pid = children(up)[role]
    os.kill(pid, signal.SIGKILL)
    return pid


def back(up: Up, role: str, old_pid: int, timeout: float = 90) -> int:
    """Wait until ``up`` has a new live child in that role; returns its pid."""
    return wait_for(lambda: (pid := children(up).get(role)) and pid != old_pid and pid, timeout, 0.2)


class Client:
    """Calls to one `up` API as its app key, each timed (no call may hang past the API's own timeouts)."""

    def __init__(self, up: Up) -> None:
        self.up = up
        self.app_key = up.key("app")
        self.admin_key = up.key("admin")
        self.slowest = 0.0

    def call(self, method: str, path: str, user: str, groups: str = "", **kwargs: Any) -> requests.Response:
        started = time.monotonic()
        try:
            response = requests.request(method, self.up.url(path), headers=headers(self.app_key, user, groups),
                                        timeout=HANG_SECONDS + 5, **kwargs)
        finally:
            self.slowest = max(self.slowest, time.monotonic() - started)
        assert time.monotonic() - started < HANG_SECONDS, f"{method} {path} hung"
        return response

    def submit(self, amount: float = 640) -> tuple[str, str]:
        who = f"emp-{uuid.uuid4().hex[:8]}@example.com"
        response = self.call("POST", "/api/v1/queries/submit_expense/runs", who,
                             json={"input": {"employee": who, "amount": amount, "description": "Fault test"}})
        assert response.status_code == 202, response.text
        return response.json()["run_id"], who

    def run(self, run_id: str, who: str) -> dict[str, Any]:
        response = self.call("GET", f"/api/v1/runs/{run_id}", who)
        assert response.status_code == 200, response.text
        return response.json()

    def pending_request(self, run_id: str, who: str, timeout: float = 60) -> dict[str, Any]:
        def found():
            r = self.call("GET", f"/api/v1/runs/{run_id}", who)
            if r.status_code != 200:
                return None
            return next((q for q in r.json()["requests"] if q["status"] == "pending"), None)
        return wait_for(found, timeout, 0.2)

    def decide_until_settled(self, request_id: str, boss: str, timeout: float = 90) -> list[int]:
        """Resolve; on 503 (a worker or Temporal restarting) try again, as a client should. The statuses."""
        statuses: list[int] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.call("POST", f"/api/v1/requests/{request_id}/resolve", boss, BOSS_GROUPS,
                          json={"resolution": "Approve", "comment": "fault test"})
            statuses.append(r.status_code)
            assert r.status_code in (200, 409, 503), (r.status_code, r.text)
            if r.status_code in (200, 409):
                return statuses
            time.sleep(0.5)
        raise AssertionError(f"request {request_id} not settled: {statuses}")

    def completed_with_one_decision(self, run_id: str, who: str, timeout: float = 90) -> dict[str, Any]:
        run = wait_for(lambda: (r := self.run(run_id, who))["status"] not in ("running", "waiting") and r,
                       timeout, 0.3)
        assert run["status"] == "completed", run
        assert run["output"]["approved"] is True
        assert len(run["decisions"]) == 1, run["decisions"]
        return run


def waiting_runs(client: Client, count: int) -> list[tuple[str, str, dict[str, Any]]]:
    """``count`` expense runs waiting for a manager: (run id, employee, pending request)."""
    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(lambda _: client.submit(), range(count)))
        return list(pool.map(lambda rw: (*rw, client.pending_request(*rw)), started))
