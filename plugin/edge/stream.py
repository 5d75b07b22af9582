"""One open stream on the events edge, as a raw ASGI response: the opening texts, then live events, heartbeats,
and the end (the client left, the key ended, the stream reached its longest life).

Raw ASGI rather than Starlette's ``StreamingResponse``: a stream here is one task waiting on its feed, and one
small task waiting for the client's disconnect; no task group, no timer task per wait (a heartbeat is a
``call_later`` that wakes the feed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from plugin.access.event_feed import HEARTBEAT, KEY_ENDED, cut_at_revoke, live_texts
from plugin.access.stream_tokens import StreamCaller
from plugin.edge.hub import EdgeHub, Feed
from plugin.store.stream_limits import StreamSlot

HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
           (b"x-accel-buffering", b"no")]


@dataclass
class OpenStream:
    """What the route prepared: the feed (subscribed before the catch-up was read), the slot under the caps, the
    opening texts and the id of the last event they cover."""

    hub: EdgeHub
    feed: Feed
    slot: StreamSlot
    opening: list[str]
    last: str
    heartbeat: float
    max_seconds: float
    extra_headers: list[tuple[bytes, bytes]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        feed, caller = self.feed, self.feed.caller
        watcher = asyncio.create_task(_until_disconnect(receive, feed))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS + self.extra_headers})
            await _body(send, "".join(self.opening))
            await self._live(send, feed, caller)
        finally:
            watcher.cancel()
            self.hub.unsubscribe(feed)
            self.hub.release(self.slot)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _live(self, send: Send, feed: Feed, caller: StreamCaller) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        ends, quiet_since, last = now + self.max_seconds, now, self.last
        while True:
            timer = loop.call_later(max(0.0, min(quiet_since + self.heartbeat, ends) - now), feed.wake.set)
            await feed.wake.wait()
            timer.cancel()
            events, overflowed = feed.take()
            if feed.ended is not None:  # the client left ("") or the key ended
                if feed.ended:
                    await _body(send, feed.ended)
                return
            if overflowed:
                events = await asyncio.to_thread(self.hub.door.store.after, last, 100_000)
            events, revoked = cut_at_revoke(events, caller.key_id)
            texts, last = live_texts(events, caller.identity, last)
            now = loop.time()
            if texts:
                quiet_since = now
                await _body(send, "".join(texts))
            if revoked:
                await _body(send, KEY_ENDED)
                return
            if now >= ends:
                return
            if now - quiet_since >= self.heartbeat:  # nothing sent for a while
                quiet_since = now
                await _body(send, HEARTBEAT)


async def _body(send: Send, text: str) -> None:
    await send({"type": "http.response.body", "body": text.encode(), "more_body": True})


async def _until_disconnect(receive: Receive, feed: Feed) -> None:
    """Wait for the client to go, then end the feed (a GET's request body comes first)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    feed.end("")
