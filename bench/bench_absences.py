"""Benchmark: what out of office costs the inbox read, measured in one run on one embedded stack.

GET /api/v1/requests (pending, 10 a page) p50/p99, one client thread, for: a person who stands in for nobody
(one extra Redis script call finds no absence), the same person while standing in for one absent colleague
(their sets merged, each candidate document parsed to decide the offer), and while standing in for five.
Each person has ``--own`` pending requests, each absent colleague ``--theirs``. The requests are written with
the same ``Inbox.put`` the worker's activity uses.

Run: .venv/bin/python -m bench.bench_absences [--reads 300] [--own 50] [--theirs 200]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import requests

from bench.stack import app_headers, embedded_stack, load_average, percentile
from plugin.models import HumanRequest
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox

START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(inbox: Inbox, user: str, count: int, offset: int) -> None:
    """``count`` pending requests naming ``user``."""
    for i in range(count):
        n = offset + i
        inbox.put(HumanRequest(
            id=f"bench-abs-{n}:000000000000-1", run_id=f"bench-abs-{n}", query="submit_expense",
            name="Approve expense", message=f"Expense {n}", metadata={"amount": n}, resolutions=["Approve", "Reject"],
            users=[user], groups=[], required_approvals=1, rejecting_resolutions=["Reject"], allow_self_approval=False,
            requester="emp@example.com", created_at=(START + timedelta(seconds=n)).isoformat()))


def reads(api: str, key: str, user: str, count: int) -> list[float]:
    """``count`` GET /api/v1/requests as ``user``, one after the other; the seconds each took."""
    session = requests.Session()
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        answer = session.get(f"{api}/api/v1/requests", headers=app_headers(key, user), timeout=10)
        samples.append(time.perf_counter() - began)
        assert answer.status_code == 200 and len(answer.json()["requests"]) == 10, answer.text
    return samples


def line(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{name:<40} n={len(ms):<4} p50={percentile(ms, 50):6.2f} ms  p99={percentile(ms, 99):6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--own", type=int, default=50)
    parser.add_argument("--theirs", type=int, default=200)
    args = parser.parse_args()
    with embedded_stack() as stack:
        settings = stack.settings
        api = f"http://127.0.0.1:{settings.port}"
        inbox = Inbox(connect_redis(settings))
        bob, absent = "bob@example.com", [f"away{i}@example.com" for i in range(5)]
        fill(inbox, bob, args.own, 0)
        for i, person in enumerate(absent):
            fill(inbox, person, args.theirs, (i + 1) * 100_000)
        reads(api, settings.app_key, bob, 50)  # warm-up
        print(line("standing in for nobody", reads(api, settings.app_key, bob, args.reads)))
        for many in (1, 5):
            for person in absent[:many]:
                body = {"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                        "to": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "delegate": bob}
                answer = requests.put(f"{api}/api/v1/absences/me", json=body, timeout=10,
                                      headers=app_headers(settings.app_key, person))
                assert answer.status_code == 200, answer.text
            print(line(f"standing in for {many} ({args.theirs} requests each)",
                       reads(api, settings.app_key, bob, args.reads)))
        print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
