"""Benchmark: triggers and status reads through the API versus raw Temporal, in one run on one stack.

1. Triggers: POST /api/v1/queries/submit_expense/runs from N client threads, versus ``client.start_workflow``
   of the same workflow straight on the same Temporal server with the same concurrency (and again with the
   search attributes and memo the plugin records), the worker running every run. In alternated rounds (raw,
   raw with attributes, HTTP; the worker drains each phase's runs before the next), each round's ratio from the
   same minute; the ratio printed is their median. Target (issue 26): at least 0.85x raw with attributes.
2. Status reads: GET /api/v1/runs/{id} (served from the Redis run snapshot) from N threads, versus
   ``handle.describe()`` straight on Temporal with the same concurrency. Target: at least 3x raw, p99 < 10 ms.
   Then the same reads as a polling panel sends them, with ``If-None-Match`` (answered 304 while unchanged).
Each HTTP phase also reports the API's CPU time per request: CPU seconds of the API processes (gunicorn's
arbiter and workers, from /proc) over the requests served, since on a small machine every millisecond of API
CPU is taken from Temporal.

Run: .venv/bin/python -m bench.bench_runs [--starts 160] [--rounds 5] [--reads 3000] [--concurrency 16]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.stack import CpuMeter, add_api_arguments, api_stack, app_headers, load_average, percentile
from plugin import search_attributes as sa
from plugin.models import RunInput
from plugin.temporal_gateway import connect_client

WORKFLOW = "expense_approval"


def line(name: str, samples: list[float], elapsed: float) -> str:
    ms = [s * 1000 for s in samples]
    return (f"{name:<30} n={len(ms):<5} {len(ms) / elapsed:8.1f}/s  p50={percentile(ms, 50):7.2f} ms  "
            f"p99={percentile(ms, 99):7.2f} ms  mean={statistics.mean(ms):7.2f} ms")


class Http:
    """A keep-alive HTTP/1.1 connection (the stdlib client: the measure is the API, not a client library)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = headers

    def call(self, method: str, path: str, body: dict | None = None, etag: str | None = None,
             headers: dict[str, str] | None = None) -> dict:
        """One call (``headers`` replace the connection's own); the JSON answer ({} for a 304), with its ETag
        under ``_etag``."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {**(headers or self._headers), **({"Content-Type": "application/json"} if payload else {}),
                   **({"If-None-Match": etag} if etag else {})}
        self._conn.request(method, path, body=payload, headers=headers)
        response = self._conn.getresponse()
        data = response.read()
        if response.status == 304:
            return {"_etag": response.getheader("ETag")}
        if response.status >= 300 and response.status != 202:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return {**json.loads(data), "_etag": response.getheader("ETag")}


def conn_etag(conn: Http, run_id: str) -> str:
    """The ETag of a run's current answer."""
    return conn.call("GET", f"/api/v1/runs/{run_id}")["_etag"]


def http_load(count: int, threads: int, make: Callable[[], Http],
              one: Callable[[Http, int], None]) -> tuple[list[float], float]:
    """``count`` calls of ``one`` spread over ``threads`` threads (a connection each); samples and wall time."""
    samples: list[float] = []
    lock = threading.Lock()
    counter = iter(range(count))

    def loop() -> None:
        conn = make()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            started = time.perf_counter()
            one(conn, i)
            took = time.perf_counter() - started
            with lock:
                samples.append(took)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(loop) for _ in range(threads)]:
            future.result()
    return samples, time.perf_counter() - started


async def raw_load(count: int, concurrency: int, one: Callable[[int], Awaitable[object]]) -> tuple[list[float], float]:
    """``count`` calls of ``one`` with ``concurrency`` in flight; samples and wall time."""
    samples: list[float] = []
    counter = iter(range(count))

    async def loop() -> None:
        for i in counter:
            started = time.perf_counter()
            await one(i)
            samples.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return samples, time.perf_counter() - started


def expense(i: int) -> dict:
    return {"employee": "emp@example.com", "amount": 10 + i % 50, "description": f"bench {i}"}


async def raw_starts(settings, count: int, concurrency: int, attributes: bool) -> tuple[list[float], float, list[str]]:
    """Plain ``start_workflow`` calls; with ``attributes``, carrying what the plugin records on each run."""
    client = await connect_client(settings)
    ids: list[str] = []

    async def start(i: int) -> None:
        inp = RunInput(data=expense(i), query="submit_expense", started_by="emp@example.com")
        extra = {}
        if attributes:
            extra = {"search_attributes": TypedSearchAttributes([
                SearchAttributePair(sa.QUERY, inp.query), SearchAttributePair(sa.STARTED_BY, inp.started_by),
                SearchAttributePair(sa.APP, ""), SearchAttributePair(sa.WAITING, False)]),
                "memo": {"input": inp.data}}
        handle = await client.start_workflow(WORKFLOW, inp, id=f"raw-{uuid.uuid4().hex}",
                                             task_queue=settings.task_queue, **extra)
        ids.append(handle.id)
    samples, took = await raw_load(count, concurrency, start)
    return samples, took, ids


async def raw_describes(settings, run_ids: list[str], count: int, concurrency: int) -> tuple[list[float], float]:
    """``handle.describe()`` straight on Temporal over these runs."""
    client: Client = await connect_client(settings)
    handles = [client.get_workflow_handle(run_id) for run_id in run_ids]
    return await raw_load(count, concurrency, lambda i: handles[i % len(handles)].describe())


async def drain(settings, timeout: float = 120) -> None:
    """Wait until the worker has finished every run (so one phase's backlog never loads the next)."""
    client: Client = await connect_client(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await client.count_workflows("ExecutionStatus = 'Running'")).count == 0:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("runs still open after the drain timeout")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=160, help="starts per side and round")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds of starts (the ratio: their median)")
    parser.add_argument("--reads", type=int, default=3000, help="status reads per side")
    add_api_arguments(parser)
    args = parser.parse_args()
    with api_stack(args) as stack:
        settings = stack.settings
        headers = app_headers(settings.app_key)
        print(f"load average at start: {load_average()}")
        print(f"stack up: API on 127.0.0.1:{settings.port} ({args.api_workers} workers x {args.api_threads} "
              f"threads), concurrency {args.concurrency}")

        def connect() -> Http:
            return Http(settings.port, headers)
        run_ids: list[str] = []

        def trigger(conn: Http, i: int) -> None:
            run_ids.append(conn.call("POST", "/api/v1/queries/submit_expense/runs", {"input": expense(i)})["run_id"])
        http_load(args.concurrency * 4, args.concurrency, connect, trigger)  # warm every gunicorn thread
        run_ids.clear()
        asyncio.run(drain(settings))

        # Alternated rounds (raw, raw with attributes, HTTP; each drained before the next), the ratio of each round
        # from the same minute: on a shared machine one phase of a few seconds measured once moves by a third.
        raw_samples: list[float] = []
        attr_samples: list[float] = []
        http_samples: list[float] = []
        raw_took = attr_took = http_took = 0.0
        ratios: list[float] = []
        attr_ratios: list[float] = []
        cpus: list[float] = []
        raw_ids: list[str] = []
        api_cpu = CpuMeter(stack, "API")
        for round_no in range(1, args.rounds + 1):
            samples, took, ids = asyncio.run(raw_starts(settings, args.starts, args.concurrency, False))
            raw_samples += samples
            raw_took += took
            raw_ids = raw_ids or ids
            raw_rate = len(samples) / took
            asyncio.run(drain(settings))  # the worker finishes those runs before the next phase
            samples, took, _ = asyncio.run(raw_starts(settings, args.starts, args.concurrency, True))
            attr_samples += samples
            attr_took += took
            attr_rate = len(samples) / took
            asyncio.run(drain(settings))
            api_cpu.start()
            samples, took = http_load(args.starts, args.concurrency, connect, trigger)
            cpus.append(api_cpu.per(len(samples)))
            http_samples += samples
            http_took += took
            http_rate = len(samples) / took
            asyncio.run(drain(settings))
            ratios.append(http_rate / raw_rate)
            attr_ratios.append(http_rate / attr_rate)
            print(f"round {round_no}: raw {raw_rate:.1f}/s, raw + attributes {attr_rate:.1f}/s, HTTP {http_rate:.1f}/s "
                  f"(API CPU {cpus[-1]:.2f} ms/request): {ratios[-1]:.2f}x ({attr_ratios[-1]:.2f}x with attributes)"
                  f"  load {load_average()}", flush=True)
        trigger_cpu = statistics.median(cpus)
        print(line("raw start_workflow", raw_samples, raw_took))
        print(line("raw start + attributes, memo", attr_samples, attr_took))
        print(line("HTTP trigger", http_samples, http_took) + f"  API CPU {trigger_cpu:.2f} ms/request (median of "
              f"rounds)")
        trigger_ratio = statistics.median(ratios)  # of the rounds' own ratios
        attr_ratio = statistics.median(attr_ratios)

        asyncio.run(drain(settings))  # the runs complete; the worker writes their snapshots
        targets = run_ids[:200]

        def read(conn: Http, i: int) -> None:
            conn.call("GET", f"/api/v1/runs/{targets[i % len(targets)]}")
        http_load(len(targets), args.concurrency, connect, read)  # a missing snapshot is refreshed once
        raw_read_samples, raw_read_took = asyncio.run(
            raw_describes(settings, raw_ids[:200], args.reads, args.concurrency))
        api_cpu.start()
        read_samples, read_took = http_load(args.reads, args.concurrency, connect, read)
        read_cpu = api_cpu.per(len(read_samples))
        etags = [conn_etag(connect(), run_id) for run_id in targets]

        def poll(conn: Http, i: int) -> None:  # a panel polling with the ETag it has: 304 while unchanged
            conn.call("GET", f"/api/v1/runs/{targets[i % len(targets)]}", etag=etags[i % len(targets)])
        api_cpu.start()
        poll_samples, poll_took = http_load(args.reads, args.concurrency, connect, poll)
        poll_cpu = api_cpu.per(len(poll_samples))
        print(line("raw handle.describe()", raw_read_samples, raw_read_took))
        print(line("HTTP GET /runs/{id}", read_samples, read_took) + f"  API CPU {read_cpu:.2f} ms/request")
        print(line("HTTP GET, If-None-Match (304)", poll_samples, poll_took) + f"  API CPU {poll_cpu:.2f} ms/request")
        read_ratio = (len(read_samples) / read_took) / (len(raw_read_samples) / raw_read_took)
        poll_ratio = (len(poll_samples) / poll_took) / (len(raw_read_samples) / raw_read_took)
        p99 = percentile([s * 1000 for s in read_samples], 99)

        print()
        print(f"trigger throughput: {trigger_ratio:.2f}x raw starts ({attr_ratio:.2f}x raw starts with the same "
              f"attributes)  target >= 0.85x with attributes: {'MET' if attr_ratio >= 0.85 else 'MISSED'}")
        print(f"status reads: {read_ratio:.2f}x raw describe, p99 {p99:.2f} ms  target >= 3x and p99 < 10 ms: "
              f"{'MET' if read_ratio >= 3 and p99 < 10 else 'MISSED'}")
        print(f"conditional reads (304): {poll_ratio:.2f}x raw describe, p99 "
              f"{percentile([s * 1000 for s in poll_samples], 99):.2f} ms")
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
