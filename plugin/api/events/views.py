"""Live updates: ``GET /api/v1/events`` (Server-Sent Events) and the stream token ``EventSource`` needs.

``EventSource`` cannot send headers, so a client first asks ``POST /api/v1/events/token`` (with its key
and identity headers) for a short-lived signed token and opens ``/api/v1/events?token=...``. A client that
can send headers may call the stream with them instead. Each connection gets only the events about runs
and requests its identity may see; ``Last-Event-ID`` (or ``?last_event_id=``) resumes after that event
without gaps while it is within the retention window, else an ``events.reset`` event says to reload.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from plugin.api.events.hub import EventHub
from plugin.api.events.limits import DEFAULT_PER_KEY, DEFAULT_PER_USER, KeyWatch, StreamSlot, StreamSlots
from plugin.api.http.auth import authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.http.rate_limits import RateLimited
from plugin.api.services import per_app, services
from plugin.errors import BadRequest, ServiceUnavailable, Unauthorized
from plugin.models import Identity
from plugin.store.events import KEY_REVOKED, Event, EventStream, id_key, valid_id

bp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Live updates (Server-Sent Events)")

TOKEN_SECONDS = 300
SECRET_KEY = "wf:events:secret"
HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 600.0
RETRY_MS = 2000


class StreamTokenSchema(Schema):
    """A stream token and where to use it."""

    token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    url = fields.String(required=True)


def _secret() -> str:
    """The signing secret, shared by every API process through Redis (made once)."""
    client = services().redis
    client.set(SECRET_KEY, secrets.token_urlsafe(32), nx=True)
    return client.get(SECRET_KEY).decode()


def hub() -> EventHub:
    """The app's event hub (one reader per process)."""
    return per_app("events", EventHub)


def streams_per_process(threads: int) -> int:
    """Streams a process of ``threads`` threads may hold: each holds a thread, and requests need some too."""
    return max(threads // 2, threads - 16)


def max_streams() -> int:
    """Streams this API process may hold."""
    configured = current_app.config.get("WORKFLOWS_SSE_MAX_STREAMS")
    if configured:
        return int(configured)
    return streams_per_process(services().settings.api_threads)


@bp.route("/token", methods=["POST"])
@bp.response(200, StreamTokenSchema)
@bp.alt_response(400, description="An app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key")
def stream_token():
    """A signed token (5 minutes) that opens the event stream as the caller, for ``EventSource``."""
    authenticate(("admin", "app"))
    require("read")
    who = current_identity(required=True)
    now = int(time.time())
    expires = now + TOKEN_SECONDS
    if g.key.expires_at is not None:  # a token never outlives its key
        expires = min(expires, int(g.key.expires_at))
    claims = {"sub": who.user, "grp": who.groups, "adm": who.is_admin, "kid": g.key.id,
              "key": g.key.id or f"bootstrap:{g.key.name}", "kex": g.key.expires_at, "exp": expires}
    token = jwt.encode(claims, _secret(), algorithm="HS256")
    return {"token": token, "expires_in": max(0, expires - now), "url": f"/api/v1/events?token={token}"}


def _identity_from_token(token: str) -> tuple[Identity, StreamKey]:
    """The identity a stream token stands for, and the key it was made with."""
    try:
        claims: dict[str, Any] = jwt.decode(token, _secret(), algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The stream token has expired; ask POST /api/v1/events/token for a new one") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("The stream token is not valid") from None
    key_id = str(claims.get("kid") or "")
    if not key_watch().valid(key_id):  # the key was revoked or has expired since
        raise Unauthorized("The API key this stream token was made with is no longer valid")
    who = Identity(user=claims.get("sub") or "", groups=list(claims.get("grp") or []),
                   is_admin=bool(claims.get("adm")))
    expires = claims.get("kex")
    return who, StreamKey(key_id, str(claims.get("key") or key_id or "bootstrap"),
                          float(expires) if isinstance(expires, int | float) else None)


def key_watch() -> KeyWatch:
    """The app's watch over stream keys (one check per key and interval for all its streams)."""
    watch = per_app("events_key_watch", lambda _redis: KeyWatch(services().keys))
    watch.every = float(current_app.config.get("WORKFLOWS_SSE_KEY_CHECK") or watch.every)
    return watch


def _slot(who: Identity, key_ref: str, seconds: float) -> StreamSlot:
    """A stream slot for this user and key, or 429 when either holds as many streams as it may."""
    per_user = int(current_app.config.get("WORKFLOWS_SSE_MAX_STREAMS_PER_USER") or DEFAULT_PER_USER)
    per_key = int(current_app.config.get("WORKFLOWS_SSE_MAX_STREAMS_PER_KEY") or DEFAULT_PER_KEY)
    taken = per_app("events_slots", StreamSlots).take(who.user or f"{key_ref}:no-user", key_ref, seconds, per_user,
                                                      per_key)
    if isinstance(taken, StreamSlot):
        return taken
    whose, cap = ("you", per_user) if taken == 1 else ("this API key", per_key)
    raise RateLimited(f"Too many live event streams open for {whose} (at most {cap} at once); close one, or "
                      "share one stream between the tabs of a page", 10, {"limit": f"{cap} streams"})


def _start_id() -> str | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw is None or raw == "":
        return None
    if not valid_id(raw.strip()):
        raise BadRequest("Last-Event-ID must be an event id this stream sent (like 1764191234567-0)",
                         {"header": "Last-Event-ID"})
    return raw.strip()


def _catch_up(store: EventStream, who: Identity, last: str) -> Iterator[tuple[str, str]]:
    """(sse text or "", id) for every stored event after ``last``, in order."""
    while True:
        batch = store.after(last)
        if not batch:
            return
        for event in batch:
            last = event.id
            yield (event.to_sse() if event.type != KEY_REVOKED and event.visible_to(who) else ""), last


@dataclass(frozen=True)
class StreamKey:
    """The key a stream was opened with: its id ("" for a bootstrap key), what its streams count against, and
    when it expires (epoch seconds, None: never)."""

    id: str
    ref: str
    expires_at: float | None = None


_CLOSED = {"reason": "The API key of this stream was revoked or has expired"}


def _key_ended(key: StreamKey | None, key_valid: Callable[[], bool] | None) -> bool:
    return key is not None and key.expires_at is not None and time.time() >= key.expires_at or \
        key_valid is not None and not key_valid()


def event_stream(events: EventHub, who: Identity, start: str | None, heartbeat: float,
                 max_seconds: float, key: StreamKey | None = None, key_valid: Callable[[], bool] | None = None,
                 check_every: float = 2.0, on_end: Callable[[], None] | None = None) -> Iterator[str]:
    """The text of one SSE connection: catch up after ``start``, then live events and heartbeats, until
    ``max_seconds``, or until ``key`` is revoked (its ``key.revoked`` event, before anything written after it),
    expires, or ``key_valid()`` (checked every ``check_every`` seconds) turns false: then ``events.closed``."""
    sub = events.subscribe()  # before reading the stream, so nothing falls between catch-up and live
    store = events.stream
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        if start is not None and store.has_gap_after(start):
            start = None
            yield Event(id=store.last_id(), type="events.reset",
                        data={"reason": "Events after Last-Event-ID are no longer kept; reload"}).to_sse()
        last = store.last_id() if start is None else start
        for text, event_id in _catch_up(store, who, last):
            last = event_id
            if text:
                yield text
        now = time.monotonic()
        ends, quiet_since, checked = now + max_seconds, now, now
        if key is not None and key.expires_at is not None:
            ends = min(ends, now + max(0.0, key.expires_at - time.time()) + 0.05)
        while now < ends:
            if now - checked >= check_every or now >= ends - 0.1:
                checked = now
                if _key_ended(key, key_valid):
                    yield Event(id=last, type="events.closed", data=_CLOSED).to_sse()
                    return
            batch, overflowed = sub.get(timeout=max(0.0, min(quiet_since + heartbeat, checked + check_every,
                                                             ends) - now))
            if overflowed:
                batch = store.after(last, count=100_000)
            for event in batch:
                if id_key(event.id) <= id_key(last):
                    continue  # already sent during catch-up
                last = event.id
                if event.type == KEY_REVOKED:
                    if key is not None and key.id and event.data.get("key_id") == key.id:
                        yield Event(id=last, type="events.closed", data=_CLOSED).to_sse()
                        return
                    continue
                if event.visible_to(who):
                    quiet_since = time.monotonic()
                    yield event.to_sse()
            now = time.monotonic()
            if now - quiet_since >= heartbeat:  # nothing sent for a while (other users' events do not count)
                quiet_since = now
                yield ": heartbeat\n\n"
        if _key_ended(key, None):  # the stream's time ran out with its key's
            yield Event(id=last, type="events.closed", data=_CLOSED).to_sse()
    finally:
        sub.close()
        if on_end is not None:
            on_end()


@bp.route("")
@bp.doc(responses={"200": {"description": "A text/event-stream of run.updated, request.opened, request.updated, "
                                          "request.decided, request.expired, request.cancelled, events.reset and "
                                          "events.closed (the stream's key was revoked or expired: it ends)",
                           "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
        parameters=[{"name": "token", "in": "query", "schema": {"type": "string"},
                     "description": "A stream token from POST /api/v1/events/token (instead of headers)"},
                    {"name": "last_event_id", "in": "query", "schema": {"type": "string"},
                     "description": "Resume after this event (the Last-Event-ID header does the same)"}])
@bp.alt_response(400, description="A bad Last-Event-ID, or an app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key or stream token")
@bp.alt_response(429, description="The user (or the key) holds as many streams as it may")
@bp.alt_response(503, description="This API process holds as many streams as its threads allow")
def stream():
    """Server-Sent Events: changes to the runs and requests the caller may see, with heartbeats."""
    token = request.args.get("token")
    if token:
        who, key = _identity_from_token(token)
    else:
        authenticate(("admin", "app"))
        require("read")
        who = current_identity(required=True)
        key = StreamKey(g.key.id, g.key.id or f"bootstrap:{g.key.name}", g.key.expires_at)
    start = _start_id()
    events = hub()
    heartbeat = float(current_app.config.get("WORKFLOWS_SSE_HEARTBEAT", HEARTBEAT_SECONDS))
    max_seconds = float(current_app.config.get("WORKFLOWS_SSE_MAX_SECONDS", MAX_STREAM_SECONDS))
    slot = _slot(who, key.ref, max_seconds)  # per user and per key first: one user cannot take them all
    slots = per_app("events_slots", StreamSlots)
    if events.open_streams >= max_streams():
        slots.give_back(slot)
        raise ServiceUnavailable("This API process holds as many event streams as it may; try again shortly "
                                 "(or raise WORKFLOWS_API_THREADS)", {"service": "events"})
    watch = key_watch()
    body = event_stream(events, who, start, heartbeat, max_seconds, key, watch.watcher(key.id) if key.id else None,
                        watch.every, lambda: slots.give_back(slot))
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
