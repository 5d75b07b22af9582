"""Run a sample app as `up` does, inside the tests: its stand-in service on a free port, its http connections
pointed at it and allowed, served by an API and a worker of their own."""

from __future__ import annotations

import importlib.util
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask

from plugin.config import Settings
from plugin.embedded.processes import free_port
from plugin.embedded.sample_services import STUB_FILE
from tests.checkout import SAMPLE_APPS
from tests.conftest import serve_app, serve_worker


@dataclass
class Sample:
    """A served sample: the API app, its stand-in's URL, and the worker's metrics address (if any)."""

    app: Flask
    stub_url: str
    metrics_address: str | None


def load_stub(folder: Path) -> ModuleType:
    """A sample's stub_service module."""
    spec = importlib.util.spec_from_file_location(f"stub_{folder.name.replace('-', '_')}", folder / STUB_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve_sample(settings: Settings, name: str, tmp: Path, extra: tuple[Path, ...] = (),
                 metrics: bool = False, **overrides: Any) -> Iterator[Sample]:
    """Serve ``sample_apps/<name>`` (plus ``extra`` folders) for the length of a fixture (``yield from`` it)."""
    source = SAMPLE_APPS / name
    port = free_port()
    stub = load_stub(source).serve(port)
    folder = tmp / name
    shutil.copytree(source, folder)
    workspace = folder / "workspace.json"
    workspace.write_text(re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", workspace.read_text()))
    address = f"127.0.0.1:{free_port()}" if metrics else None
    own = settings.with_overrides(task_queue=f"{name}-{uuid.uuid4().hex[:8]}", worker_metrics_address=address,
                                  workspaces=(folder, *extra), http_allow_hosts=(f"127.0.0.1:{port}",), **overrides)
    worker, api = serve_worker(own), serve_app(own)
    next(worker)
    try:
        yield Sample(next(api), f"http://127.0.0.1:{port}", address)
    finally:
        next(api, None)
        next(worker, None)
        stub.shutdown()
