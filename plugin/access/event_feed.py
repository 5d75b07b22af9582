"""One live event stream, told the same way by both stream servers (the events edge and the API's own route):
who may open it (a stream token or the request's headers), the caps it must fit under, what it says first
(a resume after ``Last-Event-ID``, or ``events.reset`` when that is no longer possible) and which live events it
passes on (the caller's own, each once, never an internal one).

The servers differ only in how they wait: the API holds a thread per stream, the edge an asyncio task.
"""

from __future__ import annotations

import redis

from plugin.access.callers import Headers, check_capability, identity_of, key_of, person_required
from plugin.access.stream_tokens import StreamCaller, verify
from plugin.errors import BadRequest, PluginError
from plugin.models import Identity
from plugin.store.admin.keys import KeyStore
from plugin.store.events import KEY_REVOKED, Event, EventStream, id_key, valid_id
from plugin.store.stream_limits import KEY, KeyWatch, StreamSlot, StreamSlots, key_ref
from plugin.stream_settings import StreamSettings

RETRY_MS = 2000
HEARTBEAT = ": heartbeat\n\n"


class TooManyStreams(PluginError):
    """The user or the key holds as many live event streams as it may (a rate limit: ``Retry-After`` is sent)."""

    status = 429
    code = "rate_limited"


def start_id(raw: str | None) -> str | None:
    """Where a stream resumes (``Last-Event-ID`` or ``?last_event_id=``); None: from now."""
    if raw is None or raw.strip() == "":
        return None
    if not valid_id(raw.strip()):
        raise BadRequest("Last-Event-ID must be an event id this stream sent (like 1764191234567-0)",
                         {"header": "Last-Event-ID"})
    return raw.strip()


def closing_text(reason: str) -> str:
    """The last words of a stream that the server ends (no id: a resume goes on from the last real event)."""
    return f'event: events.closed\ndata: {{"reason":"{reason}"}}\n\n'


KEY_ENDED = closing_text("The API key of this stream was revoked or has expired")


def live_texts(batch: list[Event], who: Identity, last: str) -> tuple[list[str], str]:
    """The texts of a live batch for this caller (events at or before ``last`` were sent already) and the new
    ``last``."""
    texts = []
    for event in batch:
        if id_key(event.id) <= id_key(last):
            continue  # already sent during catch-up
        last = event.id
        if event.visible_to(who):
            texts.append(event.to_sse())
    return texts, last


def cut_at_revoke(batch: list[Event], key_id: str) -> tuple[list[Event], bool]:
    """The events of a batch written before ``key_id`` was revoked, and whether it was (then the stream ends
    there: nothing written after the revoke reaches it)."""
    for index, event in enumerate(batch):
        if key_id and event.type == KEY_REVOKED and event.data.get("key_id") == key_id:
            return batch[:index], True
    return batch, False


class StreamDoor:
    """What opening a stream takes, for one process: the caller, a slot under the caps, and the opening texts."""

    def __init__(self, client: redis.Redis, keys: KeyStore, limits: StreamSettings) -> None:
        self.redis = client
        self.keys = keys
        self.limits = limits
        self.store = EventStream(client)
        self.slots = StreamSlots(client)
        self.watch = KeyWatch(keys, limits.key_check)

    def caller(self, headers: Headers, token: str | None) -> StreamCaller:
        """Who opens the stream: the stream token's caller, else the headers' key and (required) end user."""
        if token:
            return verify(self.redis, self.keys, token)
        key = key_of(headers, self.keys, ("admin", "app"))
        who = identity_of(headers, key)
        check_capability(key, who, "read")
        return StreamCaller.of(key, person_required(key, who))

    def admit(self, caller: StreamCaller, max_seconds: float, per_user: int | None = None,
              per_key: int | None = None) -> StreamSlot:
        """A slot for the stream under the caller's user and key caps (the settings', unless given); 429 otherwise."""
        ref = key_ref(caller.key_id, caller.key_name)
        who = caller.identity.user or "-no-user-"
        per_user, per_key = int(per_user or self.limits.max_per_user), int(per_key or self.limits.max_per_key)
        taken = self.slots.take(who, ref, max_seconds, per_user, per_key)
        if isinstance(taken, StreamSlot):
            return taken
        whose, cap, scope = ("this API key", per_key, "key") if taken == KEY else ("you", per_user, "user")
        raise TooManyStreams(f"Too many live event streams are open for {whose} (at most {cap} at once); close "
                             "one, or share one stream between the panels of a page",
                             {"limit": cap, "scope": scope, "retry_after": 10})

    def opening(self, who: Identity, start: str | None) -> tuple[list[str], str]:
        """The first texts of a stream (retry, a reset when the resume has a gap, the catch-up after ``start``)
        and the id of the last event they cover. Subscribe to live events before calling it, so nothing falls
        between the catch-up and the live part."""
        texts = [f"retry: {RETRY_MS}\n: connected\n\n"]
        store = self.store
        if start is not None and store.has_gap_after(start):
            start = None
            texts.append(Event(id=store.last_id(), type="events.reset",
                               data={"reason": "Events after Last-Event-ID are no longer kept; reload"}).to_sse())
        last = store.last_id() if start is None else start
        while True:
            batch = store.after(last)
            if not batch:
                return texts, last
            more, last = live_texts(batch, who, last)
            texts += more
