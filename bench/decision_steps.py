"""Probe: where a decision's POST spends its time, step by step, with raw Temporal's update beside it.

Starts the embedded stack with the benchmark workspace, submits ``--runs`` runs of ``bench_approval`` through the
API and waits until each waits for its manager. Then it decides them one at a time by calling the API app's WSGI
callable in-process (no HTTP, no gunicorn: the app's own path), each decision followed by one raw
``execute_update`` on a raw approval with a local activity (interleaved, as ``bench_requests`` does). The steps are
timed with ``perf_counter`` by wrapping them in this process only: authentication, the admission joined to the
lock, signing, the hand-over to the Temporal client's loop and back, the update, the inbox write with the unlock.
Last, each side's closing workflow task from the runs' histories.

Run: .venv/bin/python -m bench.decision_steps [--runs 40]
Only 127.0.0.1 is touched; every loop is bounded. The first three decisions warm up and are not counted.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.bench_requests import BENCH_WORKSPACE, DECIDED_QUERY, RawRoundTrips, wait_state
from bench.bench_runs import Http
from bench.raw_workflows import RawApproval, RawApprovalWithLocalActivity, RawDecision
from bench.stack import app_headers, embedded_stack, load_average
from plugin import temporal_gateway
from plugin.api import create_app
from plugin.api.requests import views
from plugin.config import Settings
from plugin.engine import update_auth
from plugin.gateway_ops import requests as request_ops
from plugin.store.requests import request_locks

WARM_UP = 3
STEPS: dict[str, list[float]] = collections.defaultdict(list)
UPDATES: list[tuple[float, float]] = []  # (the update coroutine began, ended) per decision


def _timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so each call's wall time (ms) is kept under ``label``."""
    inner = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            STEPS[label].append((time.perf_counter() - started) * 1000)
    setattr(owner, name, wrapper)


def _instrument() -> None:
    update = request_ops.update_request

    async def timed_update(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await update(*args, **kwargs)
        finally:
            UPDATES.append((began, time.perf_counter()))
    request_ops.update_request = timed_update
    call = temporal_gateway.TemporalGateway.call

    def timed_call(self: Any, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        entered, count = time.perf_counter(), len(UPDATES)
        try:
            return call(self, fn, *args, **kwargs)
        finally:
            if len(UPDATES) > count:  # this call ran the update: the hand-overs on either side of it
                began, ended = UPDATES[-1]
                STEPS["hand-over to the Temporal client's loop"].append((began - entered) * 1000)
                STEPS["hand-over back"].append((time.perf_counter() - ended) * 1000)
    temporal_gateway.TemporalGateway.call = timed_call  # type: ignore[method-assign]
    _timed(views, "authenticate", "authentication")
    _timed(request_locks.RequestLocks, "acquire", "admission joined to the lock (and the request's read)")
    _timed(update_auth, "signed", "signing the update")
    _timed(views, "run_in_one_trip", "inbox write and unlock")


def _environ(path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(raw), "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(raw)),
               "CONTENT_TYPE": "application/json", "REMOTE_ADDR": "127.0.0.1"}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    return environ


def _p50(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    _instrument()
    with embedded_stack(workspaces=(*Settings.from_env({}).workspaces, BENCH_WORKSPACE)) as stack:
        settings = stack.settings
        print(f"load average at start: {load_average()}", flush=True)
        app = create_app(settings)
        employee = Http(settings.port, app_headers(settings.app_key))
        run_ids = [employee.call("POST", f"/api/v1/queries/{DECIDED_QUERY}/runs", {"input": {
            "employee": "emp@example.com", "amount": 5 + i, "description": "b"}})["run_id"] for i in range(args.runs)]
        request_ids = {}
        for run_id in run_ids:
            def fetch(run_id: str = run_id) -> dict:
                return employee.call("GET", f"/api/v1/runs/{run_id}")
            wait_state(fetch, lambda run: run["status"] == "waiting")
            request_ids[run_id] = fetch()["requests"][0]["id"]
        raw = RawRoundTrips(settings)
        handles = raw.start(args.runs, RawApprovalWithLocalActivity)
        time.sleep(1)  # the raw runs are waiting
        manager = app_headers(settings.app_key, "boss@example.com", "managers")
        posts, raw_updates = [], []

        def raw_update(handle: Any) -> float:
            async def one() -> float:
                started = time.perf_counter()
                await handle.execute_update(RawApproval.decide, RawDecision("Approve"))
                return (time.perf_counter() - started) * 1000
            return raw._run(one())
        for i, run_id in enumerate(run_ids):
            if i == WARM_UP:
                STEPS.clear()
            status: list[str] = []
            started = time.perf_counter()
            body = b"".join(app(_environ(f"/api/v1/requests/{request_ids[run_id]}/resolve",
                                         {"resolution": "Approve"}, manager),
                                lambda answer, headers, exc_info=None, status=status: status.append(answer)))
            took = (time.perf_counter() - started) * 1000
            if not status[0].startswith("200"):
                raise RuntimeError(f"decision refused: {status[0]} {body[:200]!r}")
            began, ended = UPDATES[-1]
            if i >= WARM_UP:
                posts.append((took, (began - started) * 1000, (ended - began) * 1000))
            raw_updates.append(raw_update(handles[i]))
        closing = raw.closing_tasks(run_ids[WARM_UP:])
        raw_closing = raw.closing_tasks([h.id for h in handles[WARM_UP:]])
        raw.close()
        print(f"POST resolve, in-process (p50 of {len(posts)}): {_p50([p[0] for p in posts])}; before the update "
              f"{_p50([p[1] for p in posts])}, the update {_p50([p[2] for p in posts])}, after it "
              f"{_p50([p[0] - p[1] - p[2] for p in posts])}")
        print(f"raw execute_update with a local activity: {_p50(raw_updates[WARM_UP:])}")
        print(f"closing workflow task: plugin {_p50([c for c, _ in closing])}, raw + local activity "
              f"{_p50([c for c, _ in raw_closing])}")
        print("steps (p50):")
        for label, samples in STEPS.items():
            print(f"  {label:<55} {_p50(samples)}  (n={len(samples)})")
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
