"""Benchmark: human requests, measured in one run on one embedded stack.

1. Resolve round trip: HTTP resolve, then GET /api/v1/runs/{id} until the run shows its next state,
   versus a raw Temporal round trip on the same server: ``execute_update`` on a minimal workflow, then
   ``describe`` until it shows its next state, each decision followed by one raw round trip and one with a
   no-op local activity in its closing task (interleaved: the ratio compares figures taken in the same
   seconds). ``bench.check`` holds the completed round trip to 1.3x the raw one with a local activity.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from temporalio.api.enums.v1 import EventType
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
DECIDED_RUNS: list[str] = []  # the decided runs, whose histories show their closing workflow task

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


class RawRoundTrips:
    """Raw Temporal's update -> describe showing the run closed, on the stack's server, from a worker in this
    process (on a loop thread of its own), one at a time: the bench interleaves them with the plugin's decisions,
    since the load of a shared machine moves within a minute and a ratio of figures taken minutes apart moves
    with it."""

    def __init__(self, settings: Settings) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="raw-temporal", daemon=True)
        self._thread.start()
        self._executor = ThreadPoolExecutor(max_workers=4)
        self._client: Client = self._run(connect_client(settings))

        async def make() -> Worker:  # the SDK builds a worker on its event loop
            return Worker(self._client, task_queue=RAW_QUEUE, activities=[noop], activity_executor=self._executor,
                          workflows=[RawApproval, RawApprovalWithLocalActivity])
        self._worker = self._run(make())
        self._polling = asyncio.run_coroutine_threadsafe(self._worker.run(), self._loop)

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(60)

    def start(self, count: int, workflow: type = RawApproval) -> list[Any]:
        """Start ``count`` raw approvals; their handles (give them a moment to be waiting)."""
        async def start() -> list[Any]:
            return [await self._client.start_workflow(workflow.run, id=f"raw-{uuid.uuid4().hex}", task_queue=RAW_QUEUE)
                    for _ in range(count)]
        return self._run(start())

    def round_trip(self, handle: Any) -> float:
        """Seconds from sending the update until describe shows the run closed."""
        async def one() -> float:
            started = time.perf_counter()
            await handle.execute_update(RawApproval.decide, RawDecision("Approve"))
            while (await handle.describe()).close_time is None:
                await asyncio.sleep(0.002)
            return time.perf_counter() - started
        return self._run(one())

    def closing_tasks(self, workflow_ids: list[str]) -> list[tuple[float, int]]:
        """For each run, its last workflow task (the one that applied the decision and closed the run) from its
        history: started -> completed in ms (the worker's time on it, local activity included), and the run's
        number of history events."""
        async def read() -> list[tuple[float, int]]:
            found = []
            for workflow_id in workflow_ids:
                events = (await self._client.get_workflow_handle(workflow_id).fetch_history()).events
                kinds = [e.event_type for e in events]
                done = max(i for i, kind in enumerate(kinds) if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
                began = max(i for i in range(done) if kinds[i] == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
                took = events[done].event_time.ToDatetime() - events[began].event_time.ToDatetime()
                found.append((took.total_seconds() * 1000, len(events)))
            return found
        return self._run(read())

    def close(self) -> None:
        """Stop the worker and the loop thread."""
        self._run(self._worker.shutdown())
        self._polling.result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._executor.shutdown()


def plugin_round_trips(api: str, app_key: str, count: int,
                       between: Callable[[int], None] | None = None) -> tuple[list[float], list[float]]:
    """Submit ``count`` runs that wait for a manager, then time resolve -> GET run showing the run no longer
    waiting (its next state), and completed. The calls go through the stdlib's keep-alive client (``Http``, as
    bench_runs does): the measure is the API, not a client library (``requests`` adds about 0.8 ms of client CPU
    to each call, which the raw round trip, made with the SDK in-process, never pays). ``between(i)`` is called
    after the i-th decision is timed (the raw round trips interleaved with them)."""
    port = int(api.rsplit(":", 1)[1])
    employee = Http(port, app_headers(app_key))
    manager = Http(port, app_headers(app_key, "boss@example.com", "managers"))
    run_ids = [employee.call("POST", f"/api/v1/queries/{DECIDED_QUERY}/runs", {"input": {
        "employee": "emp@example.com", "amount": 500 + i, "description": "b"}})["run_id"] for i in range(count)]
    request_ids = {}
    for run_id in run_ids:
        def fetch(run_id=run_id):
            return employee.call("GET", f"/api/v1/runs/{run_id}")
        wait_state(fetch, lambda run: run["status"] == "waiting")
        request_ids[run_id] = fetch()["requests"][0]["id"]
    moved_on, completed = [], []
    for run_id in run_ids:
        started = time.perf_counter()
        manager.call("POST", f"/api/v1/requests/{request_ids[run_id]}/resolve", {"resolution": "Approve"})
        RESOLVE_POST.append(time.perf_counter() - started)
        DECIDED_RUNS.append(run_id)
        # One poll loop, as the raw round trip's: the first read that shows the run completed times both moments
        # (a second read just to see it again would add a status read to the decision's figure).
        moved_at: float | None = None
        deadline = started + 30
        while True:
            status = employee.call("GET", f"/api/v1/runs/{run_id}")["status"]
            now = time.perf_counter()
            if status != "waiting" and moved_at is None:
                moved_at = now
            if status == "completed" or now > deadline:
                break
            time.sleep(0.002)
        if status != "completed":
            raise TimeoutError(f"run {run_id} never completed")
        moved_on.append((moved_at or now) - started)
        completed.append(now - started)
        if between is not None:
            between(len(completed) - 1)
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

        raw = RawRoundTrips(settings)
        try:
            for handle in raw.start(5):  # warm-up
                raw.round_trip(handle)
            plain, local = raw.start(args.runs), raw.start(args.runs, RawApprovalWithLocalActivity)
            time.sleep(1.0)  # all are waiting
            raw_samples: list[float] = []
            raw_local: list[float] = []
            not_the_plugins = [0.0, 0.0]  # the API's and the worker's CPU while the raw round trips run

            def raw_pair(i: int) -> None:
                api_before, worker_before = stack.cpu_seconds("API"), stack.cpu_seconds("Worker")
                raw_samples.append(raw.round_trip(plain[i]))
                raw_local.append(raw.round_trip(local[i]))
                not_the_plugins[0] += stack.cpu_seconds("API") - api_before
                not_the_plugins[1] += stack.cpu_seconds("Worker") - worker_before

            plugin_round_trips(api, settings.app_key, 5)  # warm-up
            api_cpu, worker_cpu = CpuMeter(stack, "API").start(), CpuMeter(stack, "Worker").start()
            plugin, completed = plugin_round_trips(api, settings.app_key, args.runs, raw_pair)
            # per decided run: its trigger, the polls until it waits, the resolve, the polls until it completed
            print(f"per decided run: API CPU {api_cpu.per(args.runs) - not_the_plugins[0] * 1000 / args.runs:.2f} ms, "
                  f"worker CPU {worker_cpu.per(args.runs) - not_the_plugins[1] * 1000 / args.runs:.2f} ms")
            tasks = {"plugin": raw.closing_tasks(DECIDED_RUNS[-args.runs:]),
                     "raw + local activity": raw.closing_tasks([h.id for h in local])}
            print("closing workflow task (history: started -> completed), p50: " + ", ".join(
                f"{name} {statistics.median(t for t, _ in found):.2f} ms ({statistics.median(n for _, n in found):.0f}"
                " history events per run)" for name, found in tasks.items()))
        finally:
            raw.close()
        print("each decision was followed by one raw round trip and one with a local activity (interleaved)")
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
