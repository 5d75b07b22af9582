"""Probe: what the worker's resident memory is made of, on the embedded stack.

Reads the worker's ``VmRSS`` (``/proc/<pid>/status``) idle after start, then after each batch of expense-sample
runs started straight on Temporal (code workflows, run in the SDK's sandbox), with the SDK's sticky-cache size
from the worker's Prometheus exporter beside it. ``--waiting`` starts claims a manager must decide (the runs stay
open, kept in the worker's cache); without it the claims are approved at once and the runs complete, as in
``bench_runs``. ``--cached-runs`` sets ``WORKFLOWS_WORKER_CACHED_RUNS`` for the worker.
``--replay`` then times a workflow task on runs that are cached against runs that were evicted (a query on each:
an evicted run is rebuilt from its history first), with the worker's CPU per task from ``/proc``.

Run: nice -n 10 .venv/bin/python -m bench.worker_memory [--batches 4] [--batch 200] [--waiting] [--cached-runs N]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
import time
import urllib.request
import uuid

from temporalio.client import Client

from bench.memory_maps import smaps_report
from bench.stack import CpuMeter, _rss_kb, embedded_stack, load_average
from plugin.embedded.processes import free_port
from plugin.models import RunInput
from plugin.temporal_gateway import connect_client

WORKFLOW = "expense_approval"


def _threads(pid: int) -> int:
    rows = open(f"/proc/{pid}/status").read().splitlines()
    return next((int(r.split()[1]) for r in rows if r.startswith("Threads:")), 0)


class Peaks:
    """The largest sticky-cache size and thread count seen while a batch runs (sampled twice a second)."""

    def __init__(self, pid: int, address: str) -> None:
        self._pid, self._address, self.cache, self.threads = pid, address, 0.0, 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.cache = max(self.cache, float(cache_size(self._address).split(",")[0]))
            except ValueError:
                pass
            self.threads = max(self.threads, _threads(self._pid))

    def stop(self) -> str:
        """Stop sampling; what was seen."""
        self._stop.set()
        return f"peak cache {self.cache:.0f}, peak threads {self.threads}"


def cache_size(address: str) -> str:
    """The SDK's sticky-cache gauge, as its exporter serves it."""
    try:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError as err:
        return f"? ({err})"
    found = re.findall(r"^temporal_sticky_cache_size\S*\s+(\S+)", text, re.M)
    return ",".join(found) or "?"


async def start_runs(client: Client, task_queue: str, count: int, waiting: bool, concurrency: int = 16) -> list[str]:
    """``count`` expense runs; with ``waiting`` an amount a manager must approve."""
    ids: list[str] = []
    todo = iter(range(count))

    async def loop() -> None:
        for i in todo:
            amount = 500 + i % 50 if waiting else 10 + i % 50
            inp = RunInput(data={"employee": "emp@example.com", "amount": amount, "description": f"probe {i}"},
                           query="submit_expense", started_by="emp@example.com")
            handle = await client.start_workflow(WORKFLOW, inp, id=f"probe-{uuid.uuid4().hex}",
                                                 task_queue=task_queue)
            ids.append(handle.id)
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return ids


async def settle(client: Client, waiting: bool, ids: list[str], timeout: float = 180) -> None:
    """Until the runs completed (or, waiting, each has reached its request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if waiting:
            open_ = (await client.count_workflows("ExecutionStatus = 'Running' AND WorkflowsWaiting = false")).count
        else:
            open_ = (await client.count_workflows("ExecutionStatus = 'Running'")).count
        if open_ == 0:
            return
        await asyncio.sleep(1)
    raise TimeoutError("runs did not settle")


async def timed_queries(client: Client, ids: list[str]) -> float:
    """Wall seconds for a query on each run, one at a time."""
    started = time.perf_counter()
    for run_id in ids:
        await client.get_workflow_handle(run_id).query("run_state")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--waiting", action="store_true", help="runs wait for a manager (stay open)")
    parser.add_argument("--cached-runs", type=int, default=None, help="the worker's cache of runs")
    parser.add_argument("--replay", type=int, default=0, help="queries on cached and on evicted runs")
    args = parser.parse_args()
    metrics = f"127.0.0.1:{free_port()}"
    overrides: dict[str, object] = {"worker_metrics_address": metrics}
    if args.cached_runs is not None:
        overrides["worker_cached_runs"] = args.cached_runs
    with embedded_stack(**overrides) as stack:
        pid = stack.pids["Worker"]
        print(f"load average at start: {load_average()}", flush=True)
        time.sleep(5)
        print(f"idle after start: {_rss_kb(pid) / 1024:.1f} MB, cache {cache_size(metrics)}", flush=True)
        print(smaps_report(pid), flush=True)

        async def probe() -> None:
            client = await connect_client(stack.settings)
            every: list[str] = []
            for n in range(1, args.batches + 1):
                peaks = Peaks(pid, metrics)
                ids = await start_runs(client, stack.settings.task_queue, args.batch, args.waiting)
                await settle(client, args.waiting, ids)
                every += ids
                await asyncio.sleep(3)
                print(f"after {n * args.batch} runs ({'waiting' if args.waiting else 'completed'}): "
                      f"{_rss_kb(pid) / 1024:.1f} MB, cache {cache_size(metrics)} ({peaks.stop()}, threads now "
                      f"{_threads(pid)})  load {load_average()}", flush=True)
            if args.replay:
                for _ in range(60):  # the runs' trailing tasks (inbox writes, snapshots) first: a quiet worker
                    before = stack.cpu_seconds("Worker")
                    await asyncio.sleep(2)
                    if stack.cpu_seconds("Worker") - before < 0.05:
                        break
                newest, oldest = every[-args.replay:], every[:args.replay]
                for name, ids in (("newest (cached)", newest), ("oldest (evicted when the cache is small)", oldest),
                                  ("newest again", newest)):
                    cpu = CpuMeter(stack, "Worker").start()
                    took = await timed_queries(client, ids)
                    print(f"query on the {name} runs: {took * 1000 / len(ids):.2f} ms each, worker CPU "
                          f"{cpu.per(len(ids)):.2f} ms each", flush=True)
                print(f"after the queries: {_rss_kb(pid) / 1024:.1f} MB, cache {cache_size(metrics)}", flush=True)
        asyncio.run(probe())
        print(smaps_report(pid), flush=True)
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
