"""Profile one hot path under load with py-spy (the ``bench`` extra): status reads, inbox reads, triggers or
decisions.

Starts the embedded stack as the benchmarks do, puts the path under load from client threads, and meanwhile
runs ``py-spy record`` on the process that serves it (every gunicorn worker of the API, or the worker), then
prints the top frames by own time and by total time from py-spy's collapsed stacks (an SVG flame graph is kept
beside them).

Run: .venv/bin/python -m bench.profile_paths reads|inbox|triggers|decisions [--seconds 15] [--out /tmp/profile]
Only 127.0.0.1 is touched; every loop is bounded.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.bench_requests import BENCH_WORKSPACE, DECIDED_QUERY, fill_inbox
from bench.bench_runs import Http, expense, http_load
from bench.stack import app_headers, embedded_stack, load_average
from plugin.config import Settings
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox

PY_SPY = Path(sys.executable).parent / "py-spy"


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


def _record(pids: list[int], seconds: int, out: Path) -> list[subprocess.Popen]:
    return [subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
                              "--gil", "--format", fmt, "--output", str(out / f"{pid}.{ext}"), "--nonblocking"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in pids for fmt, ext in (("raw", "txt"), ("flamegraph", "svg"))]


def top_frames(collapsed: list[Path], count: int = 25) -> str:
    """The frames with the most own samples and the most total samples, over py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for path in collapsed:
        for row in path.read_text().splitlines():
            stack, _, n = row.rpartition(" ")
            frames = stack.split(";")
            samples += int(n)
            own[frames[-1]] += int(n)
            for frame in set(frames):
                total[frame] += int(n)
    lines = [f"{samples} samples"]
    for title, counter in (("own", own), ("total", total)):
        lines.append(f"-- by {title} time")
        lines += [f"{100 * n / max(1, samples):5.1f}%  {frame}" for frame, n in counter.most_common(count)]
    return "\n".join(lines)


def _read_inbox(conn: Http, app_key: str, people: list[str], i: int) -> None:
    """One inbox page, as a person ``bench_requests`` picks would read it."""
    conn.call("GET", "/api/v1/requests", headers=app_headers(app_key, people[(i * 7919) % len(people)]))


def _decide_loop(stack, stop: threading.Event) -> None:
    settings = stack.settings
    employee = Http(settings.port, app_headers(settings.app_key))
    manager = Http(settings.port, app_headers(settings.app_key, "boss@example.com", "managers"))
    i = 0
    while not stop.is_set() and i < 5000:
        run_id = employee.call("POST", f"/api/v1/queries/{DECIDED_QUERY}/runs",
                               {"input": {"employee": "emp@example.com", "amount": 500 + i, "description": "b"}})[
            "run_id"]
        for _ in range(2000):
            run = employee.call("GET", f"/api/v1/runs/{run_id}")
            if run["status"] == "waiting":
                break
            time.sleep(0.005)
        manager.call("POST", f"/api/v1/requests/{run['requests'][0]['id']}/resolve", {"resolution": "Approve"})
        i += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=["reads", "inbox", "triggers", "decisions"])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("/tmp/profile"))
    args = parser.parse_args()
    out = args.out / args.path
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    with embedded_stack(workspaces=(*Settings.from_env({}).workspaces, BENCH_WORKSPACE)) as stack:
        settings = stack.settings
        print(f"load average at start: {load_average()}", flush=True)

        def api() -> Http:
            return Http(settings.port, app_headers(settings.app_key))
        run_ids: list[str] = []
        http_load(50, 8, api, lambda conn, i: run_ids.append(
            conn.call("POST", "/api/v1/queries/submit_expense/runs", {"input": expense(i)})["run_id"]))
        people = fill_inbox(Inbox(connect_redis(settings)), 10_000, 1_000) if args.path == "inbox" else []
        time.sleep(2)
        api_pids = _children(stack.pids["API"]) or [stack.pids["API"]]
        targets = api_pids + ([stack.pids["Worker"]] if args.path == "decisions" else [])
        spies = _record(targets, args.seconds, out)
        stop = threading.Event()
        ends = time.monotonic() + args.seconds
        if args.path == "reads":
            while time.monotonic() < ends:
                http_load(2000, args.concurrency, api,
                          lambda conn, i: conn.call("GET", f"/api/v1/runs/{run_ids[i % len(run_ids)]}"))
        elif args.path == "inbox":  # as bench_requests reads it: 10,000 pending over 1,000 users
            while time.monotonic() < ends:
                http_load(2000, args.concurrency, api, lambda conn, i: _read_inbox(conn, settings.app_key, people, i))
        elif args.path == "triggers":
            while time.monotonic() < ends:
                http_load(200, args.concurrency, api,
                          lambda conn, i: conn.call("POST", "/api/v1/queries/submit_expense/runs",
                                                    {"input": expense(i)}))
        else:
            loops = [threading.Thread(target=_decide_loop, args=(stack, stop)) for _ in range(4)]
            for loop in loops:
                loop.start()
            time.sleep(args.seconds)
            stop.set()
            for loop in loops:
                loop.join(60)
        for spy in spies:
            spy.wait(60)
        print(f"load average at the end: {load_average()}")
        for name, pids in (("API", api_pids), ("Worker", [stack.pids["Worker"]])):
            files = [out / f"{pid}.txt" for pid in pids if (out / f"{pid}.txt").exists()]
            if files:
                print(f"== {name} ({args.path}), py-spy --gil at 200 Hz, {args.seconds} s; flame graphs in {out}")
                print(top_frames(files))


if __name__ == "__main__":
    main()
