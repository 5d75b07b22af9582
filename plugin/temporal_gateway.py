"""The one gateway from synchronous code (Flask views, CLI) to Temporal.

One long-lived client per process, on its own event-loop thread, created lazily (so after gunicorn forks)
and re-created when the process has forked since. Every call has a timeout; Temporal being unreachable
becomes a ServiceUnavailable (503), never a hang.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from temporalio.client import Client, TLSConfig, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from plugin.codec import codec_for
from plugin.config import Settings
from plugin.errors import ServiceUnavailable
from plugin.payloads import PluginPayloadConverter

log = logging.getLogger(__name__)

T = TypeVar("T")

_UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}


async def connect_client(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect to the configured Temporal (address, namespace, mTLS or API key), encrypting
    payloads when ``WORKFLOWS_PAYLOAD_KEYS`` is set; ``runtime``: the SDK runtime
    (the worker's carries its Prometheus exporter)."""
    tls: TLSConfig | bool = False
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(client_cert=settings.temporal_tls_cert.read_bytes(),
                        client_private_key=settings.temporal_tls_key.read_bytes())
    elif settings.temporal_api_key:
        tls = True
    return await Client.connect(
        settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=settings.temporal_api_key,
        data_converter=dataclasses.replace(DataConverter.default, payload_converter_class=PluginPayloadConverter,
                                           payload_codec=codec_for(settings.payload_keys)),
        runtime=runtime,
    )


class TemporalGateway:
    """Run coroutines against one shared Temporal client from any thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._handover = _Handover()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._pid != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="temporal-gateway", daemon=True)
            thread.start()
            self._loop, self._pid, self._client, self._handover = loop, os.getpid(), None, _Handover()
        return self._loop

    def _client_for_call(self) -> tuple[asyncio.AbstractEventLoop, Client]:
        with self._lock:
            loop = self._ensure_loop()
            if self._client is None:
                future = asyncio.run_coroutine_threadsafe(connect_client(self.settings), loop)
                try:
                    self._client = future.result(timeout=self.settings.temporal_timeout)
                except FutureTimeout:
                    future.cancel()
                    raise ServiceUnavailable(
                        f"Temporal at {self.settings.effective_temporal_address} did not answer in "
                        f"{self.settings.temporal_timeout:g}s", {"service": "temporal"}) from None
                except Exception as exc:  # the cause names addresses and transport errors: logged only
                    log.warning("connecting to Temporal failed: %s", exc)
                    raise ServiceUnavailable("Temporal is unreachable; try again in a moment",
                                             {"service": "temporal"}) from exc
            return loop, self._client

    def call(self, fn: Callable[[Client], Awaitable[T]], timeout: float | None = None) -> T:
        """Run ``fn(client)`` on the gateway loop and wait for its result, at most ``timeout`` seconds."""
        loop, client = self._client_for_call()
        waiter = self._handover.submit(loop, _invoke(fn, client))
        limit = timeout if timeout is not None else self.settings.temporal_timeout
        try:
            return waiter.result(loop, limit)
        except FutureTimeout:
            raise ServiceUnavailable(f"Temporal did not answer in {limit:g}s", {"service": "temporal"}) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise ServiceUnavailable("No worker answered in time: the run is waiting for a worker; try again",
                                     {"service": "worker"}) from None
        except RPCError as exc:
            if exc.status in _UNAVAILABLE:
                log.warning("Temporal call failed: %s", exc.message)
                raise ServiceUnavailable("Temporal is unavailable; try again in a moment",
                                         {"service": "temporal"}) from exc
            raise

    def close(self) -> None:
        """Stop the loop thread (tests and CLI commands)."""
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop, self._client, self._pid = None, None, None


class _Waiter:
    """One call handed to the gateway loop: its task once started there, and the lock its caller waits on."""

    __slots__ = ("_done", "task", "abandoned")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self.task: asyncio.Task | None = None
        self.abandoned = False

    def wake(self, task: asyncio.Future) -> None:
        """The task is done (on the loop): let the caller go on."""
        self._done.release()

    def result(self, loop: asyncio.AbstractEventLoop, timeout: float) -> Any:
        """The call's result (or its exception) within ``timeout`` seconds; FutureTimeout after them, and the call is
        cancelled."""
        if not self._done.acquire(timeout=timeout):
            try:
                loop.call_soon_threadsafe(self._abandon)
            except RuntimeError:  # the loop is closed: nothing runs there any more
                pass
            raise FutureTimeout()
        assert self.task is not None
        if self.task.cancelled():
            raise CancelledError()
        return self.task.result()

    def _abandon(self) -> None:
        self.abandoned = True
        if self.task is not None:
            self.task.cancel()


class _Handover:
    """Coroutines handed from request threads to the gateway loop: queued, and started by one callback per burst
    (one wake-up of the loop for every call queued before it runs), each caller waiting on a plain lock.

    ``asyncio.run_coroutine_threadsafe`` wakes the loop for every call and hands each result back through a
    ``concurrent.futures.Future`` (a condition variable, a callback chain): with 8-16 request threads that was
    150-160 us of CPU per call against 95-110 us this way (``bench/handover.py``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: collections.deque[tuple[Coroutine[Any, Any, Any], _Waiter]] = collections.deque()
        self._scheduled = False

    def submit(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> _Waiter:
        """Queue ``coro`` to run on ``loop``; its waiter."""
        waiter = _Waiter()
        with self._lock:
            self._queued.append((coro, waiter))
            wake, self._scheduled = not self._scheduled, True
        if wake:
            try:
                loop.call_soon_threadsafe(self._start_queued)
            except RuntimeError:  # the loop is closed: the call times out, as one to a loop that stopped
                coro.close()
        return waiter

    def _start_queued(self) -> None:
        with self._lock:
            queued = list(self._queued)
            self._queued.clear()
            self._scheduled = False
        for coro, waiter in queued:
            if waiter.abandoned:
                coro.close()
                continue
            waiter.task = asyncio.ensure_future(coro)
            waiter.task.add_done_callback(waiter.wake)


async def _invoke(fn: Callable[[Client], Awaitable[T]], client: Client) -> T:
    """Await ``fn(client)``, timed and counted by operation (the name of the coroutine it makes)."""
    from plugin import metrics  # the API's: imported here so that a worker, which never calls this, skips its 2 MB
    awaitable = fn(client)
    operation = getattr(awaitable, "__name__", None) or "call"
    started = time.perf_counter()
    try:
        return await awaitable
    except asyncio.CancelledError:  # the caller gave up waiting
        metrics.TEMPORAL_ERRORS.labels(operation, "timeout").inc()
        raise
    except Exception as exc:
        kind = exc.status.name if isinstance(exc, RPCError) and exc.status else type(exc).__name__
        metrics.TEMPORAL_ERRORS.labels(operation, kind).inc()
        raise
    finally:
        metrics.TEMPORAL_LATENCY.labels(operation).observe(time.perf_counter() - started)
