"""The Temporal gateway: views call coroutines on the one client's loop thread and get their result, their
exception, or a 503 when the time runs out (and then the coroutine is cancelled, not left running)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from plugin.config import Settings
from plugin.errors import NotFound, ServiceUnavailable
from plugin.temporal_gateway import TemporalGateway


@pytest.fixture
def gateway(settings: Settings):
    gw = TemporalGateway(settings)
    yield gw
    gw.close()


def test_results_and_exceptions_come_back_to_each_calling_thread(gateway: TemporalGateway):
    async def echo(client, i: int) -> tuple[str, int]:
        await asyncio.sleep(0.01 * (i % 3))
        return client.namespace, i

    async def missing(client) -> None:
        raise NotFound("no such thing")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: gateway.call(lambda c: echo(c, i)), range(40)))
    assert answers == [(gateway.settings.temporal_namespace, i) for i in range(40)]
    with pytest.raises(NotFound):
        gateway.call(missing)


def test_a_call_that_runs_out_of_time_is_503_and_cancelled(gateway: TemporalGateway):
    cancelled = threading.Event()

    async def slow(client) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(ServiceUnavailable) as caught:
        gateway.call(slow, timeout=0.2)
    assert caught.value.details == {"service": "temporal"}
    assert cancelled.wait(10)
    assert gateway.call(lambda c: asyncio.sleep(0, result="still serving")) == "still serving"


def test_a_call_given_up_before_the_loop_started_it_never_runs(gateway: TemporalGateway):
    started = threading.Event()
    blocking = threading.Event()

    async def hold_the_loop(client) -> None:
        blocking.set()
        threading.Event().wait(1.0)  # the loop thread itself is busy: nothing else starts meanwhile

    async def late(client) -> None:
        started.set()

    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(gateway.call, hold_the_loop)
        assert blocking.wait(10)
        with pytest.raises(ServiceUnavailable):
            gateway.call(late, timeout=0.2)  # queued behind the busy loop, given up before it was started
        holder.result(10)
    assert gateway.call(lambda c: asyncio.sleep(0, result="still serving")) == "still serving"
    assert not started.is_set()


def test_calls_queued_in_a_burst_each_get_their_own_answer(gateway: TemporalGateway):
    release = threading.Event()

    async def hold_the_loop(client) -> None:
        threading.Event().wait(0.3)  # the calls below queue up meanwhile, and start in one go
        release.set()

    async def echo(client, i: int) -> int:
        await asyncio.sleep(0.001)
        return i

    with ThreadPoolExecutor(17) as pool:
        holder = pool.submit(gateway.call, hold_the_loop)
        answers = list(pool.map(lambda i: gateway.call(lambda c: echo(c, i)), range(64)))
        holder.result(10)
    assert release.is_set() and answers == list(range(64))
