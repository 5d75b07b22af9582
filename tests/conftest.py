"""Real services for the tests: a Temporal dev server and a redis-server on free ports, once per session."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401  imported here, shallow: a lazy import deep in a failure report trips CPython 3.11
import pytest
import redis
from flask import Flask

from plugin.api import create_app
from plugin.config import Settings
from plugin.embedded.processes import free_port, start_redis, start_temporal, wait_until
from plugin.identity.config import KeyIdentity
from plugin.identity.settings import IdentitySettings
from plugin.temporal_gateway import connect_client
from tests.checkout import SAMPLE_APPS

TEST_WORKSPACES = Path(__file__).parent / "workspaces"
ADMIN_KEY = "test-admin-key-0123456789"
APP_KEY = "test-app-key-0123456789"
SECRETS_KEY = "test-secrets-encryption-key-0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the schemathesis test first. CPython 3.11 keeps the AST converter's recursion counter in state shared
    by all threads, so an ``ast.parse`` (hypothesis describing a lambda of schemathesis's strategies) racing a
    parse in a thread left behind by an earlier test fails with "AST constructor recursion depth mismatch"."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/test_schemathesis.py") else 1)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workflows-data")


@pytest.fixture(scope="session")
def temporal_address(data_dir: Path) -> Iterator[str]:
    port = free_port()
    proc = start_temporal(data_dir, port, None, data_dir / "logs/temporal.log")
    settings = Settings(temporal_address=f"127.0.0.1:{port}")
    wait_until(proc, lambda: bool(asyncio.run(connect_client(settings))), 60, "accepting connections")
    yield f"127.0.0.1:{port}"
    proc.stop()


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    port = free_port()
    proc = start_redis(data_dir, data_dir / "logs/redis.log", port=port)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(proc, lambda: redis.Redis.from_url(url).ping(), 30, "answering PING")
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def settings(data_dir: Path, temporal_address: str, redis_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        workspaces=tuple(sorted(p for folder in (SAMPLE_APPS, TEST_WORKSPACES) for p in folder.iterdir()
                                if (p / "workspace.json").is_file())),
        temporal_address=temporal_address,
        redis_url=redis_url,
        task_queue=f"tests-{uuid.uuid4().hex[:8]}",
        admin_key=ADMIN_KEY,
        app_key=APP_KEY,
        secrets_keys=(SECRETS_KEY,),
        # The tests' app key stands for a host that fills X-Workflows-User on its server (Retool, ToolJet
        # Enterprise): it may decide. Keys a browser fills are tested on their own (test_key_capabilities.py).
        identity=IdentitySettings(app_key=KeyIdentity(headers_source="server")),
    )


class WorkerThread:
    """A real worker on its own event loop in a thread, stoppable and restartable."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        from plugin.worker import run_worker

        started = threading.Event()

        def main() -> None:
            async def go() -> None:
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                await run_worker(self.settings, self._stop, on_ready=started.set)

            try:
                asyncio.run(go())
            except BaseException as exc:  # surfaced to the test that stops the worker
                self.error = exc
                started.set()

        self._thread = threading.Thread(target=main, name="test-worker", daemon=True)
        self._thread.start()
        started.wait(30)

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(60)
        if self.error:
            raise self.error


def serve_worker(settings: Settings) -> Iterator[WorkerThread]:
    """A worker for the settings, for the length of a fixture (``yield from`` it)."""
    thread = WorkerThread(settings)
    thread.start()
    yield thread
    thread.stop()


def serve_app(settings: Settings) -> Iterator[Flask]:
    """An API app for the settings, for the length of a fixture (``yield from`` it)."""
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["workflows"].gateway.close()


@pytest.fixture(scope="session")
def worker(settings: Settings) -> Iterator[WorkerThread]:
    yield from serve_worker(settings)


@pytest.fixture(scope="session")
def app(settings: Settings, worker: WorkerThread) -> Iterator[Flask]:
    yield from serve_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


def auth(key: str = APP_KEY, user: str | None = None, groups: str | None = None) -> dict[str, str]:
    """Headers for a call as this key and end user."""
    headers = {"Authorization": f"Bearer {key}"}
    if user:
        headers["X-Workflows-User"] = user
    if groups:
        headers["X-Workflows-Groups"] = groups
    return headers
