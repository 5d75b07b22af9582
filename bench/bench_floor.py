"""Benchmark: how much of a status read's API CPU is the plugin's own, against the floor of the same harness.

Three phases from the same client threads (the stdlib HTTP client of ``bench.bench_runs``), each reporting
throughput, p99, the API's CPU per request (from /proc) and the client's own CPU per request:

1. a trivial Flask route (``bench.floor_app``) under gunicorn with ``serve``'s settings (config module, gthread
   workers and threads, access log): what any request costs before the plugin does anything;
2. ``GET /healthz`` on the plugin's API: the app and its per-request hooks, no key, no Redis;
3. ``GET /api/v1/runs/{id}`` answered from the run snapshot: key, abuse limits, the Redis read, ETag.

Run: .venv/bin/python -m bench.bench_floor [--reads 3000] [--concurrency 16] [--rounds 2]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
import urllib.request

from bench.bench_runs import Http, drain, expense, http_load, line
from bench.stack import add_api_arguments, api_stack, app_headers, load_average, process_tree_cpu
from plugin.embedded.processes import free_port


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _phase(name: str, api_pid: int, count: int, threads: int, make, one) -> None:
    api, client = process_tree_cpu(api_pid), _client_cpu()
    samples, took = http_load(count, threads, make, one)
    api_ms = (process_tree_cpu(api_pid) - api) * 1000 / count
    client_ms = (_client_cpu() - client) * 1000 / count
    print(line(name, samples, took) + f"  API CPU {api_ms:.3f} ms/request  client CPU {client_ms:.3f} ms/request  "
          f"load {load_average()}", flush=True)


def _serve_floor(settings, workers: int, threads: int) -> tuple[subprocess.Popen, int]:
    """The trivial app under gunicorn, with the flags ``workflows-plugin serve`` passes."""
    port = free_port()
    metrics_dir = settings.data_dir / "metrics" / "floor"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    log = settings.data_dir / "logs" / "floor.log"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:plugin.api.http.gunicorn_conf",
         "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
         "--worker-connections", str(max(1000, threads + 64)), "--access-logfile", "-", "bench.floor_app:app"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/floor", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the floor app did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=3000, help="requests per phase")
    parser.add_argument("--rounds", type=int, default=2)
    add_api_arguments(parser)
    args = parser.parse_args()
    with api_stack(args) as stack:
        settings = stack.settings
        headers = app_headers(settings.app_key)
        print(f"load average at start: {load_average()}")

        def api() -> Http:
            return Http(settings.port, headers)
        run_ids: list[str] = []
        http_load(100, args.concurrency, api, lambda conn, i: run_ids.append(
            conn.call("POST", "/api/v1/queries/submit_expense/runs", {"input": expense(i)})["run_id"]))
        asyncio.run(drain(settings))
        http_load(len(run_ids), args.concurrency, api, lambda conn, i: conn.call("GET", f"/api/v1/runs/{run_ids[i]}"))
        floor, port = _serve_floor(settings, args.api_workers, args.api_threads)
        try:
            http_load(500, args.concurrency, lambda: Http(port, {}), lambda conn, i: conn.call("GET", "/floor"))
            for _ in range(args.rounds):
                _phase("trivial Flask route", floor.pid, args.reads, args.concurrency, lambda: Http(port, {}),
                       lambda conn, i: conn.call("GET", "/floor"))
                _phase("GET /healthz", stack.pids["API"], args.reads, args.concurrency, api,
                       lambda conn, i: conn.call("GET", "/healthz"))
                _phase("GET /runs/{id}", stack.pids["API"], args.reads, args.concurrency, api,
                       lambda conn, i: conn.call("GET", f"/api/v1/runs/{run_ids[i % len(run_ids)]}"))
        finally:
            floor.terminate()
            floor.wait(15)
        print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
