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
