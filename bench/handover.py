"""Probe: CPU per hand-off of a call from request threads to the Temporal gateway's event loop.

The API's request threads hand each Temporal call to one event-loop thread and wait for its answer
(``plugin.temporal_gateway``). This times that hand-off alone, without Temporal: a coroutine that awaits a 2 ms
sleep (a call in flight), called from 1, 8 and 16 threads, by ``asyncio.run_coroutine_threadsafe`` (what the
gateway used before) and by the gateway's own hand-off (``_Handover``), beside the same calls made by coroutines on
one loop (no hand-off at all). ``time.process_time`` of this process over the calls, median of 3 rounds.

Run: .venv/bin/python -m bench.handover [--calls 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from plugin.temporal_gateway import _Handover


async def in_flight() -> int:
    """A call in flight for 2 ms."""
    await asyncio.sleep(0.002)
    return 1


def per_call(call: Callable[[], object], threads: int, calls: int) -> float:
    """Microseconds of CPU per call, ``calls`` calls spread over ``threads`` threads."""
    left = iter(range(calls))
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            call()
    began = time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(loop) for _ in range(threads)]:
            future.result()
    return (time.process_time() - began) * 1e6 / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    handover = _Handover()

    def threadsafe() -> object:
        return asyncio.run_coroutine_threadsafe(in_flight(), loop).result(5)

    def gateway() -> object:
        return handover.submit(loop, in_flight()).result(loop, 5)

    async def on_one_loop(threads: int) -> None:
        left = iter(range(args.calls))

        async def one() -> None:
            for _ in left:
                await in_flight()
        await asyncio.gather(*(one() for _ in range(threads)))

    own = asyncio.new_event_loop()
    for threads in (1, 8, 16):
        figures = {"run_coroutine_threadsafe": [], "gateway hand-off": [], "no hand-off (one loop)": []}
        for _ in range(3):
            figures["run_coroutine_threadsafe"].append(per_call(threadsafe, threads, args.calls))
            figures["gateway hand-off"].append(per_call(gateway, threads, args.calls))
            began = time.process_time()
            own.run_until_complete(on_one_loop(threads))
            figures["no hand-off (one loop)"].append((time.process_time() - began) * 1e6 / args.calls)
        print(f"{threads:>2} threads: " + ", ".join(f"{name} {statistics.median(v):.0f} us"
                                                   for name, v in figures.items()) + " of CPU per call")
    loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
