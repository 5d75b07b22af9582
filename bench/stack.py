"""Start the embedded stack (Temporal dev server, Redis, worker, API) on free ports for a benchmark, and
read how much CPU its processes used (Linux ``/proc``)."""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from plugin.config import Settings
from plugin.embedded.processes import ManagedProcess, free_port, spawn, wait_until
from plugin.embedded.up import Stack, bootstrap_keys
from plugin.stream_settings import StreamSettings

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class BenchStack:
    """A running embedded stack: the settings to reach it, its children's pids by name, and the ports of the
    API processes (``up``'s first; ``add_replicas`` adds more)."""

    settings: Settings
    pids: dict[str, int]
    api_ports: list[int] = field(default_factory=list)
    replicas: list[ManagedProcess] = field(default_factory=list)

    def cpu_seconds(self, *names: str) -> float:
        """User + system CPU seconds used so far by the named children (``API``, ``Worker``...) and every
        process under them (gunicorn's workers)."""
        return sum(process_tree_cpu(self.pids[name]) for name in names)

    def add_replicas(self) -> None:
        """One more ``serve`` (on its own port) and one more ``worker``, on the same Temporal and Redis."""
        n = len(self.api_ports) + 1
        port = free_port()
        logs = self.settings.data_dir / "logs"
        worker = spawn(f"Worker {n}", [sys.executable, "-m", "plugin.cli", "worker"], logs / f"worker{n}.log",
                       self.settings.to_env())
        api = spawn(f"API {n}", [sys.executable, "-m", "plugin.cli", "serve"], logs / f"api{n}.log",
                    self.settings.with_overrides(port=port).to_env())
        self.replicas += [worker, api]
        self.pids.update({worker.name: worker.proc.pid, api.name: api.proc.pid})
        wait_until(api, lambda: _answers(port), 90, "answering /healthz")
        self.api_ports.append(port)

    def api_names(self) -> list[str]:
        """The names of the API processes, for ``cpu_seconds``."""
        return ["API", *(f"API {n}" for n in range(2, len(self.api_ports) + 1))]


def _answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
        return response.status == 200


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from ``/proc/{pid}/stat``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """``root`` and its live descendants: pid -> (parent pid, CPU seconds)."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p))) is not None}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found[pid] = stats[pid]
        todo.extend(children.get(pid, []))
    return found


def process_tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants (a worker that exited is no longer counted)."""
    return sum(cpu for _, cpu in _tree(root).values())


def _rss_kb(pid: int) -> int:
    try:
        rows = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(r.split()[1]) for r in rows if r.startswith("VmRSS:")), 0)


def largest_rss_mb(root: int) -> float:
    """The resident memory of the largest single process in ``root``'s tree (a gunicorn worker, not the sum), MB."""
    return max((_rss_kb(pid) for pid in _tree(root)), default=0) / 1024


def rss_report(bench: BenchStack) -> str:
    """``Worker 96 MB, API 110 MB, Events 52 MB``: the largest process of each of the plugin's children."""
    names = [n for n in bench.pids if n.split()[0] in ("Worker", "API", "Events")]
    return ", ".join(f"{name} {largest_rss_mb(bench.pids[name]):.0f} MB" for name in names)


class CpuMeter:
    """CPU seconds one child process tree spends between ``start`` and ``per``."""

    def __init__(self, stack: BenchStack, *names: str) -> None:
        self._stack, self._names, self._began = stack, names, 0.0

    def start(self) -> CpuMeter:
        """Begin counting from now."""
        self._began = self._stack.cpu_seconds(*self._names)
        return self

    def per(self, count: int) -> float:
        """Milliseconds of CPU per operation since ``start``, over ``count`` operations."""
        return (self._stack.cpu_seconds(*self._names) - self._began) * 1000 / max(1, count)


@contextmanager
def embedded_stack(**overrides: object) -> Iterator[BenchStack]:
    """Everything ``up`` starts, in a temporary data dir on free ports."""
    overrides.setdefault("streams", replace(StreamSettings(), port=free_port()))  # the events edge's own port
    with tempfile.TemporaryDirectory(prefix="workflows-bench-") as tmp:
        base = Settings.from_env({}).with_overrides(
            data_dir=Path(tmp), port=free_port(), temporal_port=free_port(), temporal_ui_port=free_port(),
            rate_limit_key=None, rate_limit_user=None, **overrides)  # throughput is measured, not limits
        base.data_dir.mkdir(parents=True, exist_ok=True)
        stack = Stack(bootstrap_keys(base), io.StringIO())
        stack.start()
        bench = BenchStack(stack.settings, {child.name: child.proc.pid for child in stack.children},
                           [stack.settings.port])
        try:
            yield bench
            print(f"RSS at the end: {rss_report(bench)}", flush=True)
        finally:
            for child in reversed(bench.replicas):
                child.stop()
            stack.stop()


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    """``--concurrency`` (client threads) and the API's layout, ``--api-workers`` and ``--api-threads`` (by
    default as ``serve`` runs it)."""
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--api-workers", type=int, default=Settings.api_workers, help="default: as `serve`")
    parser.add_argument("--api-threads", type=int, default=Settings.api_threads, help="default: as `serve`")


def api_stack(args: argparse.Namespace) -> AbstractContextManager[BenchStack]:
    """The embedded stack with the API laid out as ``add_api_arguments`` asked."""
    return embedded_stack(api_workers=args.api_workers, api_threads=args.api_threads)


def app_headers(app_key: str, user: str = "emp@example.com", groups: str = "") -> dict[str, str]:
    """The headers of an API call with the app key as ``user`` (and ``groups``), as the sample hosts send them."""
    headers = {"Authorization": f"Bearer {app_key}", "X-Workflows-User": user}
    if groups:
        headers["X-Workflows-Groups"] = groups
    return headers


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (what ``uptime`` shows), to note beside every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of the samples."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
