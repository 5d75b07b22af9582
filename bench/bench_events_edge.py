"""Live events at scale: N idle streams held by one process, and the delay of an event with them open.

``.venv/bin/python -m bench.bench_events_edge [--path edge|gthread] [--streams 10000] [--decisions 60]``

Starts the embedded stack as ``up`` does (Temporal, Redis, a worker, one API process and the events edge), all on
127.0.0.1. Then, on the path asked for:
- ``edge``: the streams are opened on the events edge (``workflows-plugin events``, one process);
- ``gthread``: on the API's own ``GET /api/v1/events`` (one gunicorn gthread process with ``streams + 32``
  threads, each open stream holding one), to show where that path stops.
It opens the idle streams (users who see nothing; the bench raises its own open-files limit, the edge raises
its own), then decides requests one at a time while one more stream (the deciding manager's) listens, and
reports: the streams held and the serving process's RSS; per decision, the time from sending ``POST /resolve``
to ``request.decided`` at the client; and for every event the manager's stream received, the delay from the
event's commit (its Redis Stream id is the commit time, on the same clock) to its arrival at the client.
The stream caps are raised for the bench (one app key holds every stream). Figures are noisy on a shared
machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from bench.stack import BenchStack, app_headers, embedded_stack, load_average, percentile
from plugin.config import Settings
from plugin.embedded.processes import free_port
from plugin.stream_settings import StreamSettings

MANAGER = "bench-manager@example.com"
MAX_STREAMS = 20_000  # the bound: never more streams than this, whatever is asked


def call(settings: Settings, method: str, path: str, user: str, body: dict | None = None, groups: str = "") -> dict:
    """One API call as a user."""
    headers = {**app_headers(settings.app_key, user, groups), "Content-Type": "application/json"}
    request = urllib.request.Request(f"http://127.0.0.1:{settings.port}{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


async def open_stream(port: int, key: str, user: str, groups: str = "") -> tuple[asyncio.StreamReader, object]:
    """An SSE connection to 127.0.0.1:port, read up to its ``: connected`` line (RuntimeError when refused)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = f"X-Workflows-Groups: {groups}\r\n" if groups else ""
    writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
                  f"X-Workflows-User: {user}\r\n{extra}Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        body = await asyncio.wait_for(reader.read(2000), 5)
        writer.close()
        message = body.decode(errors="replace").rpartition("\r\n\r\n")[2][:300]
        raise RuntimeError(f"{status.decode().strip() or 'connection closed'} {message}")
    while b"connected" not in await reader.readline():
        pass
    return reader, writer


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's worker under its master), in MB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields["Pid"]) == pid or int(fields["PPid"]) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total / 1024


async def open_idle(port: int, key: str, count: int) -> tuple[list, str | None]:
    """Open ``count`` idle streams, 200 at a time; stops at the first batch with a refusal (and says why)."""
    idle: list = []
    for batch in range(0, count, 200):
        opened = await asyncio.gather(*(open_stream(port, key, f"idle-{i}@example.com")
                                        for i in range(batch, min(count, batch + 200))), return_exceptions=True)
        idle += [o for o in opened if not isinstance(o, BaseException)]
        failed = [o for o in opened if isinstance(o, BaseException)]
        if failed:
            return idle, f"{type(failed[0]).__name__}: {failed[0]}"
    return idle, None


async def listen(reader: asyncio.StreamReader, delays: list[float], decided: dict[str, float]) -> None:
    """Read the manager's stream: each event's delay from its commit, and when each request.decided arrived."""
    kind, event_id = "", ""
    while True:
        line = (await reader.readline()).decode()
        if not line:
            return
        now = time.time()
        if line.startswith("id: "):
            event_id = line[4:].strip()
            delays.append(now * 1000 - int(event_id.split("-")[0]))
        elif line.startswith("event: "):
            kind = line[7:].strip()
        elif line.startswith("data: ") and kind == "request.decided":
            decided[json.loads(line[6:])["request_id"]] = time.perf_counter()


async def decide(settings: Settings, decided: dict[str, float], decisions: int) -> list[float]:
    """Start and decide ``decisions`` expense runs; returns the times from POST resolve to the event."""
    loop = asyncio.get_running_loop()
    to_event = []
    for n in range(decisions):
        body = {"input": {"employee": "bench@example.com", "amount": 500 + n, "description": f"bench {n}"}}
        run_id = (await loop.run_in_executor(None, call, settings, "POST", "/api/v1/queries/submit_expense/runs",
                                             "bench@example.com", body))["run_id"]
        while (run := await loop.run_in_executor(None, call, settings, "GET", f"/api/v1/runs/{run_id}",
                                                 "bench@example.com"))["status"] != "waiting":
            await asyncio.sleep(0.05)
        request_id = run["requests"][0]["id"]
        sent = time.perf_counter()
        await loop.run_in_executor(None, call, settings, "POST", f"/api/v1/requests/{request_id}/resolve", MANAGER,
                                   {"resolution": "Approve"}, "managers")
        deadline = time.perf_counter() + 30
        while request_id not in decided and time.perf_counter() < deadline:
            await asyncio.sleep(0.002)
        if request_id in decided:
            to_event.append((decided[request_id] - sent) * 1000)
    return to_event


async def measure(bench: BenchStack, path: str, streams: int, decisions: int) -> None:
    settings = bench.settings
    port, pid = (settings.streams.port, bench.pids["Events"]) if path == "edge" else (settings.port, bench.pids["API"])
    print(f"load average before: {load_average()}; serving process RSS {rss_mb(pid):.0f} MB")
    started = time.perf_counter()
    idle, stopped = await open_idle(port, settings.app_key, streams)
    print(f"{len(idle)} of {streams} idle streams open in {time.perf_counter() - started:.1f}s on the {path} path"
          + (f" (stopped: {stopped})" if stopped else "") + f"; serving process RSS {rss_mb(pid):.0f} MB")
    reader, _ = await open_stream(port, settings.app_key, MANAGER, "managers")
    delays: list[float] = []
    decided: dict[str, float] = {}
    listener = asyncio.ensure_future(listen(reader, delays, decided))
    to_event = await decide(settings, decided, decisions)
    listener.cancel()
    alive = sum(1 for r, _ in idle if not r.at_eof())
    print(f"after {decisions} decisions: {alive} of {len(idle)} idle streams still open; "
          f"serving process RSS {rss_mb(pid):.0f} MB; load average {load_average()}")
    if to_event:
        print(f"POST resolve sent -> request.decided at the client ({len(to_event)}): "
              f"p50 {percentile(to_event, 50):.1f} ms, p99 {percentile(to_event, 99):.1f} ms")
    if delays:
        print(f"event commit (stream id) -> at the client ({len(delays)} events): p50 {percentile(delays, 50):.1f} ms,"
              f" p99 {percentile(delays, 99):.1f} ms")
    for _, writer in idle:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=("edge", "gthread"), default="edge")
    parser.add_argument("--streams", type=int, default=10_000, help=f"at most {MAX_STREAMS}")
    parser.add_argument("--decisions", type=int, default=60)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    streams = min(args.streams, MAX_STREAMS, hard - 256)
    if streams < args.streams:
        print(f"streams bounded to {streams} (open-files limit {hard}, bound {MAX_STREAMS})")
    limits = replace(StreamSettings(), port=free_port(), max_per_key=streams + 100, max_streams=streams + 100)
    threads = Settings.api_threads
    if args.path == "gthread":  # a stream holds a thread; WORKFLOWS_API_THREADS stops at 4096 per process
        threads = min(streams + 32, 4096)
        if threads < streams + 32:
            print(f"the gthread path stops here: {streams} streams need {streams + 32} threads, a process has at "
                  f"most 4096 (WORKFLOWS_API_THREADS); streams past {threads - 16} are refused with 503")
    with embedded_stack(api_workers=1, api_threads=threads, streams=limits) as bench:
        asyncio.run(measure(bench, args.path, streams, args.decisions))


if __name__ == "__main__":
    main()
