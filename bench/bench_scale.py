"""Benchmark: scale-out. Triggers and status reads with one API process and one worker, then with two of
each (``serve`` and ``worker`` replicas on the same Temporal and Redis), each beside raw Temporal measured in
the same run at that moment (raw starts with the plugin's attributes and memo, raw ``describe``).

The client threads are spread over the API processes round-robin (as a load balancer would). On a 2-core
machine a second replica adds processes, not cores: the figure that matters is the ratio, and the API CPU per
request (all API processes' CPU over the requests they served).

Run: .venv/bin/python -m bench.bench_scale [--starts 300] [--reads 2000] [--concurrency 16]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import threading

from bench.bench_runs import Http, drain, expense, http_load, line, raw_describes, raw_starts
from bench.stack import BenchStack, CpuMeter, add_api_arguments, api_stack, app_headers, load_average


def measure(stack: BenchStack, args: argparse.Namespace) -> dict[str, float]:
    """Triggers and reads over every API process of the stack, and raw Temporal right before each."""
    settings = stack.settings
    headers = app_headers(settings.app_key)
    ports, lock = itertools.cycle(stack.api_ports), threading.Lock()

    def connect() -> Http:
        with lock:
            return Http(next(ports), headers)
    run_ids: list[str] = []

    def trigger(conn: Http, i: int) -> None:
        run_ids.append(conn.call("POST", "/api/v1/queries/submit_expense/runs", {"input": expense(i)})["run_id"])
    http_load(args.concurrency * 4, args.concurrency, connect, trigger)  # warm every process and thread
    asyncio.run(drain(settings))
    run_ids.clear()
    raw, raw_took, raw_ids = asyncio.run(raw_starts(settings, args.starts, args.concurrency, True))
    asyncio.run(drain(settings))
    api_cpu = CpuMeter(stack, *stack.api_names()).start()
    http, http_took = http_load(args.starts, args.concurrency, connect, trigger)
    trigger_cpu = api_cpu.per(len(http))
    asyncio.run(drain(settings))
    targets = run_ids[:200]

    def read(conn: Http, i: int) -> None:
        conn.call("GET", f"/api/v1/runs/{targets[i % len(targets)]}")
    http_load(len(targets), args.concurrency, connect, read)  # snapshots refreshed once where missing
    raw_reads, raw_reads_took = asyncio.run(raw_describes(settings, raw_ids[:200], args.reads, args.concurrency))
    api_cpu.start()
    reads, reads_took = http_load(args.reads, args.concurrency, connect, read)
    read_cpu = api_cpu.per(len(reads))
    print(line("raw start + attributes, memo", raw, raw_took))
    print(line("HTTP trigger", http, http_took) + f"  API CPU {trigger_cpu:.2f} ms/request")
    print(line("raw handle.describe()", raw_reads, raw_reads_took))
    print(line("HTTP GET /runs/{id}", reads, reads_took) + f"  API CPU {read_cpu:.2f} ms/request")
    return {"trigger": (len(http) / http_took) / (len(raw) / raw_took), "trigger_rate": len(http) / http_took,
            "read": (len(reads) / reads_took) / (len(raw_reads) / raw_reads_took), "read_rate": len(reads) / reads_took,
            "trigger_cpu": trigger_cpu, "read_cpu": read_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=300, help="starts per side")
    parser.add_argument("--reads", type=int, default=2000, help="status reads per side")
    add_api_arguments(parser)
    args = parser.parse_args()
    results = {}
    with api_stack(args) as stack:
        for replicas in (1, 2):
            if replicas == 2:
                stack.add_replicas()
            print(f"\n{replicas} serve ({args.api_workers} workers x {args.api_threads} threads each) + {replicas} "
                  f"worker, concurrency {args.concurrency}; load average {load_average()}")
            results[replicas] = measure(stack, args)
    print("\n| replicas | trigger/s | trigger / raw | API CPU per trigger | GET/s | GET / raw describe | "
          "API CPU per GET |\n|---|---|---|---|---|---|---|")
    for replicas, r in results.items():
        print(f"| {replicas} serve + {replicas} worker | {r['trigger_rate']:.0f} | {r['trigger']:.2f}x | "
              f"{r['trigger_cpu']:.2f} ms | {r['read_rate']:.0f} | {r['read']:.2f}x | {r['read_cpu']:.2f} ms |")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
