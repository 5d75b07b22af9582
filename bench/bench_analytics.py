"""Benchmark: SLA analytics (GET /api/v1/analytics/requests) over 10,000 decided requests.

The read model is seeded as the workflows write it: each request through ``Inbox.put`` (the store write the
``publish_request`` activity and the API use), first pending (version 1), then settled (version 2: decided by
one of its assignees, or expired at its due time), over 30 days, 4 queries, 200 people and 10 groups, 60% with a
due time; plus pending requests, some past due. Then the answer is timed over HTTP against the served API
(gunicorn, as ``serve`` runs it), per grouping, as an admin and as one person.

Run: .venv/bin/python -m bench.bench_analytics [--decided 10000] [--pending 500] [--samples 30]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from bench.stack import CpuMeter, app_headers, embedded_stack, load_average, percentile
from plugin.models import EXPIRED, RESOLVED, Decision, HumanRequest
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox

QUERIES = ("submit_expense", "refund_order", "onboard_employee", "purchase_request")
PEOPLE = [f"user{i:03d}@example.com" for i in range(200)]
GROUPS = [f"team{i}" for i in range(10)]


def one_request(i: int, now: datetime, rng: random.Random, settle: bool) -> list[HumanRequest]:
    """The versions of one request as its workflow would write them (pending, then settled when ``settle``)."""
    created = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
    due = created + timedelta(hours=24) if rng.random() < 0.6 else None
    users = rng.sample(PEOPLE, rng.choice((1, 1, 2)))
    groups = [rng.choice(GROUPS)] if rng.random() < 0.4 else []
    first = HumanRequest(
        id=f"bench-analytics-{i}:000000000000-1", run_id=f"bench-analytics-{i}", query=QUERIES[i % len(QUERIES)],
        name="Approve", message=f"Request {i}: please look at the attached figures", metadata={"amount": i % 900},
        resolutions=["Approve", "Reject"], users=users, groups=groups, required_approvals=1,
        rejecting_resolutions=["Reject"], allow_self_approval=False, requester="emp@example.com",
        created_at=created.isoformat(), due_at=due.isoformat() if due else None)
    if not settle:
        return [first]
    wait = timedelta(seconds=rng.lognormvariate(9.5, 1.2))  # median ~3.7 h, a long tail
    if due is not None and created + wait > due and due < now and rng.random() < 0.5:
        return [first, dataclasses.replace(first, status=EXPIRED, resolved_at=due.isoformat(), version=2)]
    at = min(created + wait, now)
    resolution = "Approve" if rng.random() < 0.8 else "Reject"
    decision = Decision(actor=users[0], resolution=resolution, at=at.isoformat(), comment="ok", via="oidc")
    return [first, dataclasses.replace(first, status=RESOLVED, resolution=resolution, resolved_at=at.isoformat(),
                                       decisions=[decision], version=2)]


def seed(inbox: Inbox, decided: int, pending: int) -> None:
    """Write ``decided`` settled and ``pending`` open requests through ``Inbox.put``."""
    rng, now = random.Random(11), datetime.now(UTC)
    versions = [one_request(i, now, rng, settle=i < decided) for i in range(decided + pending)]

    def write(chain: list[HumanRequest]) -> None:
        for version in chain:
            inbox.put(version)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, versions))


def timed(session: requests.Session, url: str, headers: dict[str, str], params: dict[str, str],
          samples: int) -> tuple[list[float], dict]:
    """``samples`` answers (after one warm-up): their times in ms and the last body."""
    body = session.get(url, headers=headers, params=params, timeout=60).json()
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        response = session.get(url, headers=headers, params=params, timeout=60)
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        body = response.json()
    return times, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decided", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=500)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with embedded_stack() as stack:
        settings = stack.settings
        api = f"http://{settings.host}:{settings.port}/api/v1/analytics/requests"
        print(f"load average at start: {load_average()}")
        began = time.perf_counter()
        seed(Inbox(connect_redis(settings)), args.decided, args.pending)
        print(f"seeded {args.decided} decided + {args.pending} pending requests through Inbox.put "
              f"in {time.perf_counter() - began:.1f}s")
        session = requests.Session()
        admin = {"Authorization": f"Bearer {settings.admin_key}"}
        since = (datetime.now(UTC) - timedelta(days=31)).isoformat()
        cases = [(f"admin, group_by={g}", admin, {"group_by": g, "since": since}) for g in ("query", "assignee",
                                                                                            "group")]
        cases.append(("one person, group_by=query", app_headers(settings.app_key, PEOPLE[0], "team0"),
                      {"since": since}))
        redis_name = next((name for name in stack.pids if name.startswith("Redis")), None)
        for label, headers, params in cases:
            api_cpu = CpuMeter(stack, *stack.api_names()).start()
            redis_cpu = CpuMeter(stack, redis_name).start() if redis_name else None
            times, body = timed(session, api, headers, params, args.samples)
            totals = body["totals"]
            # CPU per answer (the warm-up call included): on a loaded machine it says more than the wall time
            cpu = f"API CPU {api_cpu.per(args.samples + 1):6.1f} ms" + (
                f", Redis CPU {redis_cpu.per(args.samples + 1):5.1f} ms" if redis_cpu else "")
            print(f"{label:28s} p50 {statistics.median(times):7.1f} ms  p90 {percentile(times, 90):7.1f} ms  {cpu}  "
                  f"({len(body['rows'])} rows; opened {totals['opened']}, decided {totals['decided']}, "
                  f"expired {totals['expired']}, overdue now {totals['overdue_now']})")
        print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
