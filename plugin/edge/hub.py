"""The events edge's one reader of the Redis event stream, handing each event only to the streams that may see it.

Ten thousand idle streams are ten thousand small ``Feed`` objects, not threads. An event names its users and
groups, so the hub finds its readers in an index (by user, by group, admins, by key) and wakes only those: a
stream is not woken for other people's events, which keeps the delay of an event flat as streams are added.
A second loop asks every few seconds, in one round trip, whether the keys of the open streams are still valid,
and ends the streams of a key that was revoked or has expired.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable

import redis
import redis.asyncio as aioredis

from plugin.access.event_feed import KEY_ENDED, StreamDoor
from plugin.access.stream_tokens import StreamCaller
from plugin.store.events import KEY_REVOKED, STREAM, Event, parse_entry
from plugin.store.stream_limits import StreamSlot

log = logging.getLogger(__name__)

BLOCK_MS = 2000
QUEUE_LIMIT = 5000
SLOT_FLUSH_SECONDS = 0.5


class Feed:
    """One open stream's inbox: the events for its caller since it subscribed, and why it must end, if it must."""

    __slots__ = ("caller", "events", "wake", "overflowed", "ended")

    def __init__(self, caller: StreamCaller) -> None:
        self.caller = caller
        self.events: list[Event] = []
        self.wake = asyncio.Event()
        self.overflowed = False
        self.ended: str | None = None  # the closing text, once the stream must end

    def push(self, event: Event) -> None:
        """Called by the hub's reader (a slow reader resyncs from the stream instead of growing)."""
        if len(self.events) >= QUEUE_LIMIT:
            self.events.clear()
            self.overflowed = True
        else:
            self.events.append(event)
        self.wake.set()

    def end(self, text: str) -> None:
        """Make the stream end after ``text``."""
        self.ended = text
        self.wake.set()

    def take(self) -> tuple[list[Event], bool]:
        """What arrived since the last call, and whether some was dropped."""
        events, overflowed = self.events, self.overflowed
        self.events, self.overflowed = [], False
        self.wake.clear()
        return events, overflowed


class EdgeHub:
    """Reads the stream with one blocking call and routes each event to the feeds that may see it."""

    def __init__(self, door: StreamDoor, client: aioredis.Redis) -> None:
        self.door = door
        self._client = client
        self._by_user: dict[str, set[Feed]] = defaultdict(set)
        self._by_group: dict[str, set[Feed]] = defaultdict(set)
        self._by_key: dict[str, set[Feed]] = defaultdict(set)
        self._admins: set[Feed] = set()
        self.open_streams = 0
        self._released: list[StreamSlot] = []
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        """Start the reader (from the newest event as of now, read before any stream can open) and the key watch."""
        newest = await self._client.xrevrange(STREAM, count=1)
        position = newest[0][0] if newest else "0-0"
        self._tasks = [asyncio.create_task(self._read(position), name="edge-reader"),
                       asyncio.create_task(self._watch_keys(), name="edge-key-watch"),
                       asyncio.create_task(self._give_back(), name="edge-slots")]

    async def stop(self) -> None:
        """Stop the loops and give back the slots of the streams that ended."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush_slots()

    def release(self, slot: StreamSlot) -> None:
        """Give a slot back soon (slots of streams that end together go back in one round trip)."""
        self._released.append(slot)

    def subscribe(self, caller: StreamCaller) -> Feed:
        """A feed for this caller, indexed by what makes an event visible to it."""
        feed = Feed(caller)
        for index, name in self._places(caller):
            if index is self._admins:
                self._admins.add(feed)
            else:
                index[name].add(feed)
        self.open_streams += 1
        return feed

    def unsubscribe(self, feed: Feed) -> None:
        """Forget a feed."""
        for index, name in self._places(feed.caller):
            if index is self._admins:
                self._admins.discard(feed)
                continue
            found = index.get(name)
            if found is not None:
                found.discard(feed)
                if not found:
                    del index[name]
        self.open_streams -= 1

    def _places(self, caller: StreamCaller) -> Iterable[tuple]:
        who = caller.identity
        yield self._by_key, caller.key_id
        if who.is_admin:
            yield self._admins, ""
            return
        if who.user:
            yield self._by_user, who.user
        for group in who.groups:
            yield self._by_group, group

    def route(self, events: list[Event]) -> None:
        """Hand each event to the feeds that may see it (a revocation to that key's feeds)."""
        for event in events:
            if event.type == KEY_REVOKED:
                readers: set[Feed] = set(self._by_key.get(str(event.data.get("key_id") or ""), ()))
            else:
                readers = set(self._admins)
                for user in event.users:
                    readers.update(self._by_user.get(user, ()))
                for group in event.groups:
                    readers.update(self._by_group.get(group, ()))
            for feed in readers:
                feed.push(event)

    async def _read(self, position: str) -> None:
        while True:
            try:
                answer = await self._client.xread({STREAM: position}, count=500, block=BLOCK_MS)
            except (redis.RedisError, OSError) as exc:  # feeds resync from the stream when it is back
                log.warning("events edge read failed: %s", exc)
                await asyncio.sleep(1)
                continue
            events = [parse_entry(i, f) for _, rows in (answer or []) for i, f in rows]
            if events:
                position = events[-1].id
                self.route(events)

    async def _give_back(self) -> None:
        while True:
            await asyncio.sleep(SLOT_FLUSH_SECONDS)
            await self._flush_slots()

    async def _flush_slots(self) -> None:
        slots, self._released = self._released, []
        if slots:
            try:
                await asyncio.to_thread(self.door.slots.give_back, slots)
            except redis.RedisError as exc:  # the slots end by themselves (their score is their latest end)
                log.warning("events edge could not give back %d stream slots: %s", len(slots), exc)

    async def _watch_keys(self) -> None:
        watch = self.door.watch
        while True:
            await asyncio.sleep(watch.every)
            key_ids = [k for k in self._by_key if k]
            if not key_ids:
                continue
            try:
                ended = await asyncio.to_thread(watch.ended, key_ids)
            except redis.RedisError as exc:
                log.warning("events edge key check failed: %s", exc)
                continue
            for key_id in ended:
                for feed in list(self._by_key.get(key_id, ())):
                    feed.end(KEY_ENDED)
