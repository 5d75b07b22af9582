"""One reader of the event stream per API process, fanning events out to every open SSE connection.

A thousand idle streams then cost a thousand waiting threads and one blocking ``XREAD``, not a thousand
Redis connections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import redis

from plugin.store.events import Event, EventStream
from plugin.store.stream_limits import KeyWatch

log = logging.getLogger(__name__)

BLOCK_MS = 2000
QUEUE_LIMIT = 5000


class Subscription:
    """The events the hub read since this connection subscribed (bounded: a slow reader resyncs)."""

    def __init__(self, hub: EventHub, key_id: str = "") -> None:
        self._hub = hub
        self.key_id = key_id
        self._cond = threading.Condition()
        self._queue: deque[Event] = deque()
        self.overflowed = False
        self.ended = False  # its key was revoked or has expired

    def end(self) -> None:
        """Called by the hub's key check: the stream must end."""
        with self._cond:
            self.ended = True
            self._cond.notify()

    def push(self, events: list[Event]) -> None:
        """Called by the hub's reader."""
        with self._cond:
            if len(self._queue) + len(events) > QUEUE_LIMIT:
                self._queue.clear()
                self.overflowed = True
            else:
                self._queue.extend(events)
            self._cond.notify()

    def get(self, timeout: float) -> tuple[list[Event], bool]:
        """The queued events (waiting up to ``timeout`` for one) and whether some were dropped."""
        with self._cond:
            if not self._queue and not self.overflowed and not self.ended:
                self._cond.wait(timeout)
            events, overflowed = list(self._queue), self.overflowed
            self._queue.clear()
            self.overflowed = False
            return events, overflowed

    def close(self) -> None:
        """Stop receiving."""
        self._hub.unsubscribe(self)


class EventHub:
    """Reads the stream with one blocking call and hands each batch to every subscription; between reads, checks
    the keys of the open streams (``watch``, one round trip for all) and ends those of a revoked or expired key."""

    def __init__(self, client: redis.Redis, watch: KeyWatch | None = None) -> None:
        # Its own client: a blocking read must not hold a connection the views need, nor time out first.
        kwargs = dict(client.connection_pool.connection_kwargs)
        kwargs["socket_timeout"] = BLOCK_MS / 1000 + 5
        self._client = redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=client.connection_pool.connection_class, **kwargs))
        self.stream = EventStream(self._client)
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._watch = watch
        self._checked = time.monotonic()

    @property
    def open_streams(self) -> int:
        """How many connections are subscribed now."""
        return len(self._subs)

    def subscribe(self, key_id: str = "") -> Subscription:
        """A new subscription; starts the reader when it is not running. The reader starts from the newest event
        as of now, read before this returns: a catch-up read after it cannot end past where the reader begins,
        so no event falls between the two (one read twice is skipped by its id)."""
        sub = Subscription(self, key_id)
        with self._lock:
            self._subs.add(sub)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._read, args=(self._start_position(),), name="event-hub",
                                                daemon=True)
                self._thread.start()
        return sub

    def _start_position(self) -> str | None:
        try:
            return self.stream.last_id()
        except redis.RedisError:  # the reader tries again; connections resync from the stream when it is back
            return None

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a subscription."""
        with self._lock:
            self._subs.discard(sub)

    def _read(self, position: str | None) -> None:
        while True:
            with self._lock:
                if not self._subs:
                    self._thread = None
                    return
            try:
                if position is None:
                    position = self.stream.last_id()
                events = self.stream.wait_after(position, BLOCK_MS)
            except redis.RedisError as exc:  # connections resync from the stream when it is back
                log.warning("event hub read failed: %s", exc)
                threading.Event().wait(1)
                continue
            if events:
                position = events[-1].id
                with self._lock:  # the subscriptions as of now: one that joined during the read gets these too
                    subs = list(self._subs)
                for sub in subs:
                    sub.push(events)
            self._check_keys()

    def _check_keys(self) -> None:
        watch = self._watch
        if watch is None or time.monotonic() - self._checked < watch.every:
            return
        self._checked = time.monotonic()
        with self._lock:
            subs = [sub for sub in self._subs if sub.key_id]
        try:
            ended = watch.ended({sub.key_id for sub in subs})
        except redis.RedisError as exc:  # asked again at the next check
            log.warning("event hub key check failed: %s", exc)
            return
        for sub in subs:
            if sub.key_id in ended:
                sub.end()
