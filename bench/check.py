"""Run the benchmarks and print one PASS or MISSED line per performance target (issue 26's table).

``.venv/bin/python -m bench.check [--quick] [--logs DIR] [--only floor,runs,requests,events]``

Each benchmark runs as ``python -m bench.<name>`` in this checkout (its own embedded stack on free ports,
127.0.0.1 only); its output is kept in ``--logs`` (default: a temporary folder, named at the end) and the
figures are read from it. Targets are stated against the floors the benchmarks measure in the same run:

| measure | target |
|---|---|
| status read: API CPU per ``GET /runs/{id}`` / a trivial Flask route under the same gunicorn (bench_floor) | <= 1.6x |
| trigger throughput / raw start with the same attributes and memo (bench_runs) | >= 0.85x |
| decision -> run completed p50 / raw update + a no-op local activity in its closing task (bench_requests) | <= 1.3x |
| inbox p99, 10k pending / 1k users, 4 clients (bench_requests) | < 10 ms |
| RSS per process after the benchmarks (worker, API, events) | < 120 MB each |
| idle streams held by one events process: 10,000 with RSS (bench_events_edge) | < 300 MB |
| event delay p99 from the event's commit with those streams open (bench_events_edge) | < 100 ms |

Not a test: figures on a shared machine are noisy, so the load average is printed with them. ``--quick`` runs
smaller samples (and 2,000 streams) to try the script, not to judge a target.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FULL = {"floor": [], "runs": [], "requests": [], "events_edge": []}
QUICK = {"floor": ["--reads", "600", "--rounds", "1"], "runs": ["--starts", "100", "--rounds", "2", "--reads", "600"],
         "requests": ["--runs", "15", "--inbox-requests", "2000", "--users", "200", "--reads", "400"],
         "events_edge": ["--streams", "2000", "--decisions", "20"]}
RSS_TARGET_MB = 120


@dataclass
class Target:
    """One row of the table: how to read its figure from a benchmark's output, and the bar it must clear."""

    bench: str
    label: str
    read: Callable[[str], float | None]
    passes: Callable[[float], bool]
    shown: str  # the target, as the table says it
    unit: str = "x"


def _floats(pattern: str, text: str) -> list[float]:
    return [float(m) for m in re.findall(pattern, text)]


def _floor_ratio(out: str) -> float | None:
    floor = _floats(r"trivial Flask route .*?API CPU ([\d.]+) ms/request", out)
    reads = _floats(r"GET /runs/\{id\} .*?API CPU ([\d.]+) ms/request", out)
    pairs = [r / f for f, r in zip(floor, reads, strict=False) if f > 0]
    return statistics.median(pairs) if pairs else None


def _first(pattern: str) -> Callable[[str], float | None]:
    def read(out: str) -> float | None:
        found = _floats(pattern, out)
        return found[0] if found else None
    return read


def _completed_ratio(out: str) -> float | None:
    done = _floats(r"resolve -> run completed\s+n=\d+\s+p50=\s*([\d.]+) ms", out)
    raw = _floats(r"same \+ 1 no-op local activity\s+n=\d+\s+p50=\s*([\d.]+) ms", out)
    return done[0] / raw[0] if done and raw and raw[0] > 0 else None


def _streams_rss(out: str) -> float | None:
    """The events process's RSS with its streams open; None unless all 10,000 were held (``--quick`` holds fewer)."""
    held = re.search(r"after \d+ decisions: (\d+) of \d+ idle streams still open; serving process RSS ([\d.]+) MB",
                     out)
    if held is None or int(held.group(1)) < 10_000:
        return None
    return float(held.group(2))


def _inbox_p99(out: str) -> float | None:
    found = re.findall(r"inbox p99 with (\d+) client threads: ([\d.]+) ms", out)
    by_threads = {int(t): float(v) for t, v in found}
    return by_threads.get(4, max(by_threads.values()) if by_threads else None)


def _largest_rss(outputs: dict[str, str]) -> dict[str, float]:
    """The largest end-of-run RSS seen per kind of process (Worker, API, Events), over every benchmark (the events
    process of the streams benchmark aside: it still holds what the streams took)."""
    largest: dict[str, float] = {}
    for bench, out in outputs.items():
        for name, mb in re.findall(r"(Worker|API|Events)(?: \d+)? (\d+) MB", " ".join(
                line for line in out.splitlines() if line.startswith("RSS at the end:"))):
            if name == "Events" and bench == "events_edge":
                continue  # it held the streams: its own target above
            largest[name] = max(largest.get(name, 0.0), float(mb))
    return largest


TARGETS = [
    Target("floor", "status read API CPU / trivial Flask route", _floor_ratio, lambda v: v <= 1.6, "<= 1.6x"),
    Target("runs", "trigger throughput / raw start with attributes and memo",
           _first(r"trigger throughput: [\d.]+x raw starts \(([\d.]+)x raw starts with the same"),
           lambda v: v >= 0.85, ">= 0.85x"),
    Target("requests", "decision -> run completed (p50) / raw update + local activity", _completed_ratio,
           lambda v: v <= 1.3, "<= 1.3x"),
    Target("requests", "inbox p99, 4 clients", _inbox_p99, lambda v: v < 10, "< 10 ms", " ms"),
    Target("events_edge", "10,000 idle streams on one events process: RSS", _streams_rss, lambda v: v < 300,
           "< 300 MB", " MB"),
    Target("events_edge", "event delay p99 from its commit, streams open",
           _first(r"event commit \(stream id\) -> at the client .*?p99 ([\d.]+) ms"), lambda v: v < 100, "< 100 ms",
           " ms"),
]


def run(bench: str, args: list[str], logs: Path) -> str:
    """Run one benchmark in this checkout; its output (also kept in ``logs``)."""
    print(f"running bench.{bench} {' '.join(args)} ...", flush=True)
    done = subprocess.run([sys.executable, "-m", f"bench.bench_{bench}", *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    out = done.stdout + done.stderr
    (logs / f"{bench}.txt").write_text(out)
    if done.returncode != 0:
        print(f"  bench.{bench} failed (exit {done.returncode}); see {logs / f'{bench}.txt'}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples: to try the script, not to judge")
    parser.add_argument("--logs", type=Path, default=None, help="where to keep each benchmark's output")
    parser.add_argument("--only", default="", help="comma-separated: floor, runs, requests, events")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    only = {n.strip().replace("events", "events_edge") for n in args.only.split(",") if n.strip()}
    logs = args.logs or Path(tempfile.mkdtemp(prefix="workflows-check-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    outputs = {bench: run(bench, extra, logs) for bench, extra in plan.items() if not only or bench in only}
    print()
    for target in TARGETS:
        if target.bench not in outputs:
            continue
        value = target.read(outputs[target.bench])
        if value is None:
            print(f"MISSED  {target.label}: no figure (see {logs / f'{target.bench}.txt'}; --quick measures fewer)")
            continue
        verdict = "PASS  " if target.passes(value) else "MISSED"
        print(f"{verdict}  {target.label}: {value:.2f}{target.unit} (target {target.shown})")
    for name, mb in sorted(_largest_rss(outputs).items()):
        verdict = "PASS  " if mb < RSS_TARGET_MB else "MISSED"
        print(f"{verdict}  RSS of the largest {name} process after the benchmarks: {mb:.0f} MB (target < "
              f"{RSS_TARGET_MB} MB)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; outputs in {logs}")


if __name__ == "__main__":
    main()
