"""Benchmark: human requests, measured in one run on one embedded stack.

1. Resolve round trip: HTTP resolve, then GET /api/v1/runs/{id} until the run shows its next state,
   versus a raw Temporal round trip on the same server: ``execute_update`` on a minimal workflow, then
   ``describe`` until it shows its next state. Target: within 1.5x raw.
2. Inbox reads: GET /api/v1/requests p50/p99 with 10,000 pending requests spread over 1,000 users, from 1 and 4
   client threads (keep-alive http.client connections, as bench_runs; ``--client requests`` for requests.Session,
   which costs about as much CPU per read as the API on the same two cores). Target (issue 26): p99 under 10 ms
   with 4 clients. The requests are written with the same ``Inbox.put`` the worker's activity uses (starting
   10,000 real runs would measure run starts, not the inbox).

Run: .venv/bin/python -m bench.bench_requests [--runs 40] [--inbox-requests 10000] [--users 1000]
     [--client stdlib|requests]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bench_runs import Http
from bench.raw_workflows import RawApproval, RawApprovalWithLocalActivity, RawDecision, noop
from bench.stack import CpuMeter, app_headers, embedded_stack, load_average, percentile
from plugin.config import Settings
from plugin.models import HumanRequest
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox
from plugin.temporal_gateway import connect_client

RAW_QUEUE = "bench-raw"
RESOLVE_POST: list[float] = []  # the POST alone, to show where the round trip goes

# The decided runs are of a query whose last step is the approval, so "completed" measures the decision alone
# (the expense sample notifies through an HTTP connection after its decision).
BENCH_WORKSPACE = Path(__file__).parent / "workspace"
DECIDED_QUERY = "bench_approval"


def summary(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (f"{name:<34} n={len(ms):<5} p50={percentile(ms, 50):7.2f} ms  p99={percentile(ms, 99):7.2f} ms  "
            f"mean={statistics.mean(ms):7.2f} ms")


def wait_state(fetch, done, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(fetch()):
            return
        time.sleep(0.002)
    raise TimeoutError("state never changed")


async def raw_round_trips(client: Client, count: int, workflow: type = RawApproval) -> list[float]:
    """Start ``count`` raw approvals, then time update -> describe showing the run closed, one at a time."""
    handles = [await client.start_workflow(workflow.run, id=f"raw-{uuid.uuid4().hex}", task_queue=RAW_QUEUE)
               for _ in range(count)]
    await asyncio.sleep(1.0)  # all are waiting
    samples = []
    for handle in handles:
        started = time.perf_counter()
        await handle.execute_update(RawApproval.decide, RawDecision("Approve"))
        while (await handle.describe()).close_time is None:
            await asyncio.sleep(0.002)
        samples.append(time.perf_counter() - started)
    return samples


def plugin_round_trips(api: str, app_key: str, count: int) -> tuple[list[float], list[float]]:
    """Submit ``count`` expenses that wait for a manager, then time resolve -> GET run showing the run
    no longer waiting (its next state), and on to completed."""
    session = requests.Session()
    employee = app_headers(app_key)
    manager = app_headers(app_key, "boss@example.com", "managers")
    run_ids = []
    for i in range(count):
        response = session.post(f"{api}/api/v1/queries/{DECIDED_QUERY}/runs", headers=employee, timeout=10,
                                json={"input": {"employee": "emp@example.com", "amount": 500 + i, "description": "b"}})
        response.raise_for_status()
        run_ids.append(response.json()["run_id"])
    request_ids = {}
    for run_id in run_ids:
        def fetch(run_id=run_id):
            return session.get(f"{api}/api/v1/runs/{run_id}", headers=employee, timeout=10).json()
        wait_state(fetch, lambda run: run["status"] == "waiting")
        request_ids[run_id] = fetch()["requests"][0]["id"]
    moved_on, completed = [], []
    for run_id in run_ids:
        started = time.perf_counter()
        resolved = session.post(f"{api}/api/v1/requests/{request_ids[run_id]}/resolve", headers=manager,
                                json={"resolution": "Approve"}, timeout=10)
        resolved.raise_for_status()
        RESOLVE_POST.append(time.perf_counter() - started)

        def fetch(run_id=run_id):
            return session.get(f"{api}/api/v1/runs/{run_id}", headers=employee, timeout=10).json()
        wait_state(fetch, lambda run: run["status"] != "waiting")
        moved_on.append(time.perf_counter() - started)
        wait_state(fetch, lambda run: run["status"] == "completed")
        completed.append(time.perf_counter() - started)
    return moved_on, completed


def fill_inbox(inbox: Inbox, total: int, users: int) -> list[str]:
    """Write ``total`` pending requests spread evenly over ``users`` people; returns the people."""
    people = [f"user{i:04d}@example.com" for i in range(users)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: inbox.put(HumanRequest(
            id=f"bench-run-{i}:000000000000-1", run_id=f"bench-run-{i}", query="submit_expense", name="Approve expense",
            message=f"Expense {i}", metadata={"amount": i}, resolutions=["Approve", "Reject"],
            users=[people[i % users]], groups=[], required_approvals=1, rejecting_resolutions=["Reject"],
            allow_self_approval=False, requester="emp@example.com",
            created_at=(start + timedelta(seconds=i)).isoformat())), range(total)))
    return people


def inbox_reads(api: str, app_key: str, people: list[str], count: int, threads: int,
                client: str = "stdlib") -> tuple[list[float], float]:
    """``count`` GET /api/v1/requests for random people from ``threads`` threads, each on its own keep-alive
    connection; samples and reads/s. ``client``: ``stdlib`` (http.client, as bench_runs reads) or ``requests``
    (a requests.Session: about as much CPU per read as the API itself, on the same cores)."""
    rng = random.Random(7)
    picks = [rng.choice(people) for _ in range(count)]
    local = threading.local()
    port = urlsplit(api).port or 80

    def one(user: str) -> float:
        if client == "stdlib":
            conn = getattr(local, "conn", None) or Http(port, {})
            local.conn = conn
            started = time.perf_counter()
            answer = conn.call("GET", "/api/v1/requests", headers=app_headers(app_key, user))
            elapsed = time.perf_counter() - started
            assert len(answer["requests"]) == 10, answer
            return elapsed
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = session.get(f"{api}/api/v1/requests", timeout=10,
                               headers=app_headers(app_key, user))
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and len(response.json()["requests"]) == 10, response.text
        return elapsed

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        samples = list(pool.map(one, picks))
    return samples, count / (time.perf_counter() - began)


def _own_cpu() -> float:
    """CPU seconds of this process (the client threads, while the inbox is read)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--inbox-requests", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--client", choices=["stdlib", "requests"], default="stdlib",
                        help="the inbox readers' HTTP client (default: http.client, as bench_runs)")
    args = parser.parse_args()

    with embedded_stack(workspaces=(*Settings.from_env({}).workspaces, BENCH_WORKSPACE)) as stack:
        settings = stack.settings
        api = f"http://{settings.host}:{settings.port}"
        print(f"load average at start: {load_average()}")
        print(f"stack up: API {api}, Temporal {settings.effective_temporal_address}")

        async def raw() -> tuple[list[float], list[float]]:
            client = await connect_client(settings)
            with ThreadPoolExecutor(max_workers=4) as executor:
                async with Worker(client, task_queue=RAW_QUEUE, workflows=[RawApproval, RawApprovalWithLocalActivity],
                                  activities=[noop], activity_executor=executor):
                    await raw_round_trips(client, 5)  # warm-up
                    plain = await raw_round_trips(client, args.runs)
                    return plain, await raw_round_trips(client, args.runs, RawApprovalWithLocalActivity)

        plugin_round_trips(api, settings.app_key, 5)  # warm-up
        api_cpu, worker_cpu = CpuMeter(stack, "API").start(), CpuMeter(stack, "Worker").start()
        plugin, completed = plugin_round_trips(api, settings.app_key, args.runs)
        # per decided run: its trigger, the polls until it waits, the resolve, the polls until it completed
        print(f"per decided run: API CPU {api_cpu.per(args.runs):.2f} ms, "
              f"worker CPU {worker_cpu.per(args.runs):.2f} ms")
        raw_samples, raw_local = asyncio.run(raw())
        print(summary("resolve -> run no longer waiting", plugin))
        print(summary("  of which POST resolve", RESOLVE_POST[-len(plugin):]))
        print(summary("resolve -> run completed", completed))
        print(summary("update -> closed, raw Temporal", raw_samples))
        # the plugin writes the run's end snapshot from a local activity in the closing task: what that alone costs
        print(summary("  same + 1 no-op local activity", raw_local) +
              f"  ({statistics.median(raw_local) / statistics.median(raw_samples):.2f}x raw)")
        for label, samples, target in (("next state", plugin, 1.2), ("completed", completed, 1.5)):
            ratio = statistics.median(samples) / statistics.median(raw_samples)
            print(f"resolve round trip ({label}) / raw (p50): {ratio:.2f}x   target <= {target}x   "
                  f"{'MET' if ratio <= target else 'MISSED'}")

        inbox = Inbox(connect_redis(settings))
        began = time.perf_counter()
        people = fill_inbox(inbox, args.inbox_requests, args.users)
        print(f"inbox filled: {args.inbox_requests} pending requests over {args.users} users "
              f"in {time.perf_counter() - began:.1f}s")
        inbox_reads(api, settings.app_key, people, 200, args.threads, args.client)  # warm-up
        print(f"inbox clients: {args.client}")
        for threads in sorted({1, args.threads}):
            api_cpu.start()
            client_cpu = _own_cpu()
            samples, rate = inbox_reads(api, settings.app_key, people, args.reads, threads, args.client)
            print(summary(f"GET /api/v1/requests ({threads} threads)", samples) + f"  {rate:.0f} reads/s"
                  f"  API CPU {api_cpu.per(len(samples)):.2f} ms/request"
                  f"  client CPU {(_own_cpu() - client_cpu) * 1000 / len(samples):.2f} ms/request")
            p99 = percentile([s * 1000 for s in samples], 99)
            print(f"inbox p99 with {threads} client threads: {p99:.2f} ms   target < 10 ms   "
                  f"{'MET' if p99 < 10 else 'MISSED'}")
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
