"""Benchmark: bulk decisions (POST /api/v1/requests/bulk-resolve) of 100 requests on the embedded stack.

1. 100 pending requests decided in one bulk call: wall time and per-item statuses.
2. The same call again (a host retrying): every item answers ``repeated``, nothing is recorded twice.
3. A mixed call: 90 pending, 5 already decided by another manager (409), 5 unknown ids (404).
4. For comparison: 100 single POST /resolve calls one after the other.

Each decision is its own Temporal update through the same path as a single resolve; the bulk view runs them
eight at a time (``BULK_CONCURRENCY``). The API runs under gunicorn as ``serve`` does.
Run: .venv/bin/python -m bench.bench_bulk [--requests 100]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import requests

from bench.stack import CpuMeter, app_headers, embedded_stack, load_average
from plugin.config import Settings

BENCH_WORKSPACE = Path(__file__).parent / "workspace"
QUERY = "bench_approval"


def waiting_requests(session: requests.Session, api: str, key: str, count: int) -> list[str]:
    """Start ``count`` runs that wait for a manager; their request ids."""
    employee = app_headers(key)
    run_ids = []
    for i in range(count):
        response = session.post(f"{api}/api/v1/queries/{QUERY}/runs", headers=employee, timeout=10,
                                json={"input": {"employee": "emp@example.com", "amount": 100 + i}})
        response.raise_for_status()
        run_ids.append(response.json()["run_id"])
    ids = []
    for run_id in run_ids:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = session.get(f"{api}/api/v1/runs/{run_id}", headers=employee, timeout=10).json()
            if run["status"] == "waiting" and run["requests"]:
                ids.append(run["requests"][0]["id"])
                break
            time.sleep(0.02)
        else:
            raise TimeoutError(f"{run_id} never waited")
    return ids


def bulk(session: requests.Session, api: str, key: str, ids: list[str]) -> tuple[float, Counter]:
    """One bulk call as boss@example.com: (wall seconds, count of each status and outcome)."""
    began = time.perf_counter()
    response = session.post(f"{api}/api/v1/requests/bulk-resolve", timeout=300,
                            headers=app_headers(key, "boss@example.com", "managers"),
                            json={"ids": ids, "resolution": "Approve", "comment": "bench"})
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    return elapsed, Counter(f"{r['status']} {r['outcome']}" for r in response.json()["results"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    n = args.requests
    with embedded_stack(workspaces=(*Settings.from_env({}).workspaces, BENCH_WORKSPACE)) as stack:
        settings = stack.settings
        api, key = f"http://{settings.host}:{settings.port}", settings.app_key
        session = requests.Session()
        print(f"load average at start: {load_average()}")
        bulk(session, api, key, waiting_requests(session, api, key, 5))  # warm-up

        ids = waiting_requests(session, api, key, n)
        api_cpu, worker_cpu = CpuMeter(stack, "API").start(), CpuMeter(stack, "Worker").start()
        seconds, counts = bulk(session, api, key, ids)
        print(f"bulk of {n} pending: {seconds:.2f} s wall ({seconds / n * 1000:.1f} ms per request); "
              f"API CPU {api_cpu.per(n):.2f} ms, worker CPU {worker_cpu.per(n):.2f} ms per decision; "
              f"results {dict(counts)}")
        seconds, counts = bulk(session, api, key, ids)
        print(f"the same call again: {seconds:.2f} s wall; results {dict(counts)}")

        mixed = waiting_requests(session, api, key, n - n // 20)
        other = app_headers(key, "carol@example.com", "managers")
        for rid in mixed[: n // 20]:
            session.post(f"{api}/api/v1/requests/{rid}/resolve", headers=other, json={"resolution": "Reject"},
                         timeout=10).raise_for_status()
        unknown = [f"{QUERY}-missing{i}:0123456789ab-1" for i in range(n // 20)]
        seconds, counts = bulk(session, api, key, mixed + unknown)
        print(f"bulk of {len(mixed) + len(unknown)} mixed: {seconds:.2f} s wall; results {dict(counts)}")

        singles = waiting_requests(session, api, key, n)
        manager = app_headers(key, "boss@example.com", "managers")
        began = time.perf_counter()
        for rid in singles:
            session.post(f"{api}/api/v1/requests/{rid}/resolve", headers=manager, json={"resolution": "Approve"},
                         timeout=10).raise_for_status()
        print(f"{n} single POST /resolve one after the other: {time.perf_counter() - began:.2f} s wall")
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
