"""Live updates: how many idle SSE streams one API process holds, and the delay from a decision to its event.

``.venv/bin/python -m bench.bench_events [--streams 1000] [--decisions 40]``

Starts the embedded stack as ``up`` does, with one API process (gunicorn gthread: each open stream holds a
thread, so the process gets ``streams + 32`` threads), opens the idle streams as users who see nothing,
then decides requests one at a time while one more stream (the deciding manager's) listens, and reports:
- the streams held open (each answered its ``: connected`` line and stays open) and the API process's RSS;
- per decision, the time from sending ``POST /resolve`` to the ``request.decided`` event at the client, and
  from the POST's answer to that event (negative: the event arrived before the answer).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from bench.stack import app_headers, percentile
from plugin.config import Settings
from plugin.embedded.processes import free_port
from plugin.embedded.up import Stack, bootstrap_keys
from plugin.stream_settings import StreamSettings

MANAGER = "bench-manager@example.com"


def call(settings: Settings, method: str, path: str, user: str, body: dict | None = None, groups: str = "") -> dict:
    """One API call as a user."""
    headers = {**app_headers(settings.app_key, user, groups), "Content-Type": "application/json"}
    request = urllib.request.Request(f"http://127.0.0.1:{settings.port}{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


async def open_stream(settings: Settings, user: str, groups: str = "") -> tuple[asyncio.StreamReader, object]:
    """An SSE connection, read up to its ``: connected`` line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
    extra = f"X-Workflows-Groups: {groups}\r\n" if groups else ""
    writer.write((f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {settings.app_key}\r\n"
                  f"X-Workflows-User: {user}\r\n{extra}Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    while b"connected" not in await reader.readline():
        pass
    return reader, writer


async def next_decided(reader: asyncio.StreamReader, request_id: str) -> float:
    """Read events until the request's ``request.decided``; returns when it arrived."""
    kind = ""
    while True:
        line = (await reader.readline()).decode()
        if line.startswith("event: "):
            kind = line[7:].strip()
        elif line.startswith("data: ") and kind == "request.decided" and request_id in line:
            return time.perf_counter()


def rss_kb(port: int) -> int:
    """Resident memory of the gunicorn worker serving the port (the master's child)."""
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"gunicorn" in status.read_bytes() and b"plugin.wsgi" in status.read_bytes():
                pid = status.parent.name
                stat = (status.parent / "stat").read_text().split()
                parent = Path(f"/proc/{stat[3]}/cmdline").read_bytes()
                if b"gunicorn" in parent:  # a worker, not the master
                    for row in (Path("/proc") / pid / "status").read_text().splitlines():
                        if row.startswith("VmRSS:"):
                            return int(row.split()[1])
        except OSError:
            continue
    return 0


async def measure(settings: Settings, streams: int, decisions: int) -> None:
    idle = []
    started = time.perf_counter()
    for batch in range(0, streams, 100):
        idle += await asyncio.gather(*(open_stream(settings, f"idle-{i}@example.com")
                                       for i in range(batch, min(streams, batch + 100))))
    print(f"{len(idle)} idle streams open in {time.perf_counter() - started:.1f}s; "
          f"API process RSS {rss_kb(settings.port) // 1024} MB")
    reader, _ = await open_stream(settings, MANAGER, "managers")
    loop = asyncio.get_running_loop()
    to_event, after_answer = [], []
    for n in range(decisions):
        body = {"input": {"employee": "bench@example.com", "amount": 500 + n, "description": f"bench {n}"}}
        run_id = (await loop.run_in_executor(None, call, settings, "POST", "/api/v1/queries/submit_expense/runs",
                                             "bench@example.com", body))["run_id"]
        while True:
            run = await loop.run_in_executor(None, call, settings, "GET", f"/api/v1/runs/{run_id}", "bench@example.com")
            if run["status"] == "waiting":
                break
            await asyncio.sleep(0.05)
        request_id = run["requests"][0]["id"]
        sent = time.perf_counter()
        waiter = asyncio.ensure_future(next_decided(reader, request_id))
        await loop.run_in_executor(None, call, settings, "POST", f"/api/v1/requests/{request_id}/resolve", MANAGER,
                                   {"resolution": "Approve"}, "managers")
        answered = time.perf_counter()
        arrived = await asyncio.wait_for(waiter, 30)
        to_event.append((arrived - sent) * 1000)
        after_answer.append((arrived - answered) * 1000)
    alive = sum(1 for r, _ in idle if not r.at_eof())
    print(f"after {decisions} decisions: {alive} of {len(idle)} idle streams still open; "
          f"API process RSS {rss_kb(settings.port) // 1024} MB")
    print(f"POST resolve sent -> request.decided at the client: p50 {percentile(to_event, 50):.1f} ms, "
          f"p99 {percentile(to_event, 99):.1f} ms")
    print(f"POST resolve answered -> event: p50 {percentile(after_answer, 50):.1f} ms, "
          f"p99 {percentile(after_answer, 99):.1f} ms")
    for _, writer in idle:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="workflows-bench-") as tmp:
        base = Settings.from_env({}).with_overrides(
            data_dir=Path(tmp), port=free_port(), temporal_port=free_port(), temporal_ui_port=free_port(),
            api_workers=1, api_threads=args.streams + 32,
            streams=replace(StreamSettings(), port=free_port(), max_per_key=args.streams + 100))
        stack = Stack(bootstrap_keys(base), io.StringIO())
        stack.start()
        try:
            asyncio.run(measure(stack.settings, args.streams, args.decisions))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
