"""The events edge as the tests meet it: a real ``workflows-plugin events`` process on a free port, and a client
that reads one of its streams in a thread."""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from plugin.config import Settings
from plugin.embedded.processes import ManagedProcess, free_port, spawn, wait_until
from plugin.stream_settings import StreamSettings


def start_edge(settings: Settings, log_dir: Path, **limits: Any) -> tuple[ManagedProcess, str]:
    """An events process for these settings (stream limits changed by ``limits``, ``port`` too); returns it and its
    URL."""
    streams = replace(StreamSettings(), **{"port": free_port(), **limits})
    edge_settings = settings.with_overrides(streams=streams)
    proc = spawn("events", [sys.executable, "-m", "plugin.cli", "events"], log_dir / f"events-{streams.port}.log",
                 edge_settings.to_env())
    url = f"http://127.0.0.1:{streams.port}"
    wait_until(proc, lambda: requests.get(f"{url}/healthz", timeout=2).ok, 30, "answering /healthz")
    return proc, url


def serve_edge(settings: Settings, log_dir: Path, **limits: Any) -> Iterator[str]:
    """The URL of an events process for the length of a fixture (``yield from`` it)."""
    proc, url = start_edge(settings, log_dir, **limits)
    yield url
    proc.stop()


class SseReader:
    """One SSE response read in a thread from ``chunks()``: events (and comments) arrive in a queue; ``ended`` is
    set once the stream closed. Subclasses say where the chunks come from and how to drop the connection."""

    def __init__(self) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments: list[str] = []
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def chunks(self) -> Iterator[bytes | str]:
        raise NotImplementedError

    def _read(self) -> None:
        buffer = ""
        try:
            for chunk in self.chunks():
                buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self._block(block)
        except (requests.RequestException, OSError, AttributeError, ValueError):  # the connection was dropped
            pass
        finally:
            self.ended.set()

    def _block(self, block: str) -> None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
            elif ": " in line:
                name, value = line.split(": ", 1)
                fields[name] = value
        if "event" in fields:
            self.events.put({"id": fields.get("id"), "type": fields["event"], "data": json.loads(fields["data"])})

    def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> list[dict[str, Any]]:
        """Collect events until one matches; returns all collected (AssertionError on timeout)."""
        seen: list[dict[str, Any]] = []
        while True:
            try:
                event = self.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no matching event; saw {seen}") from None
            seen.append(event)
            if predicate(event):
                return seen

    def drain(self) -> list[dict[str, Any]]:
        """Everything received so far."""
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def join(self) -> None:
        """Wait for the reading thread (after the connection was dropped)."""
        self._thread.join(10)


class EdgeStream(SseReader):
    """A stream of the events edge, over HTTP."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        super().__init__()

    def chunks(self) -> Iterator[bytes]:
        return self.response.iter_content(chunk_size=None)

    def close(self) -> None:
        """Drop the connection."""
        self.response.close()
        self.join()


def open_edge_stream(url: str, headers: dict[str, str] | None = None, **params: Any) -> EdgeStream:
    """Open a stream on the edge (200 expected)."""
    response = requests.get(f"{url}/api/v1/events", headers=headers or {}, params=params, stream=True, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return EdgeStream(response)
