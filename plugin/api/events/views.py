"""Live updates on the API's own origin: ``GET /api/v1/events`` (Server-Sent Events) and the stream token
``EventSource`` needs.

The events edge (``workflows-plugin events``, ``plugin.edge``) is where streams are meant to be held: many idle
streams per process, where this route holds a server thread for each. This route stays for compatibility (a
deployment without the edge, clients that call it with headers) and follows the same rules through
``plugin.access.event_feed``: the same stream tokens, filtering, ``Last-Event-ID`` resume, heartbeats, caps per
user and per key, and the end of a stream within seconds of its key being revoked or expiring.

``EventSource`` cannot send headers, so a client first asks ``POST /api/v1/events/token`` (with its key and
identity headers) for a short-lived signed token and opens the ``url`` it answers: on the edge when
``WORKFLOWS_EVENTS_URL`` is set (``up`` sets it), else this origin's ``/api/v1/events`` (which a deployment's
route sends to the edge).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import redis
from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from plugin.access.event_feed import (
    HEARTBEAT,
    KEY_ENDED,
    StreamDoor,
    TooManyStreams,
    cut_at_revoke,
    live_texts,
    start_id,
)
from plugin.access.stream_tokens import StreamCaller, issue, verify
from plugin.api.events.hub import EventHub, Subscription
from plugin.api.http.auth import authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.http.rate_limits import RateLimited
from plugin.api.services import per_app, services
from plugin.errors import ServiceUnavailable
from plugin.store.stream_limits import StreamSlot

bp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Live updates (Server-Sent Events)")

EVENTS_PATH = "/api/v1/events"


class StreamTokenSchema(Schema):
    """A stream token and where to use it."""

    token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    url = fields.String(required=True, metadata={
        "description": "Where to open the stream: a path on this API, or the events edge's absolute URL"})


def hub() -> EventHub:
    """The app's event hub (one reader per process, checking the keys of its streams)."""
    return per_app("events", lambda client: EventHub(client, door().watch))


def door() -> StreamDoor:
    """The app's stream door: callers, caps and opening texts, shared with the events edge."""
    return per_app("events_door", lambda client: StreamDoor(client, services().keys, services().settings.streams))


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
    """A signed token (5 minutes, never past its key's expiry) that opens the event stream as the caller."""
    authenticate(("admin", "app"))
    require("read")
    issued = issue(services().redis, StreamCaller.of(g.key, current_identity(required=True)))
    base = services().settings.streams.public_url or ""
    return {"token": issued.token, "expires_in": issued.expires_in, "url": f"{base}{EVENTS_PATH}?token={issued.token}"}


def event_stream(sub: Subscription, entry: StreamDoor, caller: StreamCaller, slot: StreamSlot, opening: list[str],
                 last: str, heartbeat: float, max_seconds: float) -> Iterator[str]:
    """The text of one SSE connection: its opening (the catch-up up to ``last``), then live events and heartbeats,
    until ``max_seconds``, or until the caller's key is revoked or expires (then ``events.closed``)."""
    who, key_id = caller.identity, caller.key_id
    try:
        yield "".join(opening)
        now = time.monotonic()
        ends, quiet_since = now + max_seconds, now
        while now < ends:
            batch, overflowed = sub.get(timeout=max(0.0, min(quiet_since + heartbeat, ends) - now))
            if overflowed:
                batch = entry.store.after(last, count=100_000)
            batch, revoked = cut_at_revoke(batch, key_id)
            texts, last = live_texts(batch, who, last)
            if texts:
                quiet_since = time.monotonic()
                yield "".join(texts)
            now = time.monotonic()
            if revoked or sub.ended:  # the revoke on the stream, or the hub's key check
                yield KEY_ENDED
                return
            if now - quiet_since >= heartbeat:  # nothing sent for a while (other users' events do not count)
                quiet_since = now
                yield HEARTBEAT
    finally:
        sub.close()
        with contextlib.suppress(redis.RedisError):  # else the slot frees itself at its latest end
            entry.slots.give_back([slot])


@bp.route("")
@bp.doc(responses={"200": {"description": "A text/event-stream of run.updated, request.opened, request.updated, "
                                          "request.decided, request.expired, request.cancelled, events.reset and "
                                          "events.closed (the stream's key was revoked or expired). Served by the "
                                          "events edge (`workflows-plugin events`) where a route sends this path "
                                          "to it; the API answers it too, holding a thread per stream",
                           "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
        parameters=[{"name": "token", "in": "query", "schema": {"type": "string"},
                     "description": "A stream token from POST /api/v1/events/token (instead of headers)"},
                    {"name": "last_event_id", "in": "query", "schema": {"type": "string"},
                     "description": "Resume after this event (the Last-Event-ID header does the same)"}])
@bp.alt_response(400, description="A bad Last-Event-ID, or an app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key or stream token")
@bp.alt_response(429, description="The user or the key holds as many streams as it may (rate_limited, Retry-After)")
@bp.alt_response(503, description="This process holds as many streams as it may")
def stream():
    """Server-Sent Events: changes to the runs and requests the caller may see, with heartbeats."""
    entry = door()
    token = request.args.get("token")
    if token:
        caller = verify(services().redis, services().keys, token)
    else:
        authenticate(("admin", "app"))
        require("read")
        caller = StreamCaller.of(g.key, current_identity(required=True))
    start = start_id(request.headers.get("Last-Event-ID") or request.args.get("last_event_id"))
    events = hub()
    if events.open_streams >= max_streams():
        raise ServiceUnavailable("This API process holds as many event streams as it may; try again shortly "
                                 "(or raise WORKFLOWS_API_THREADS)", {"service": "events"})
    heartbeat = float(current_app.config.get("WORKFLOWS_SSE_HEARTBEAT") or entry.limits.heartbeat)
    max_seconds = float(current_app.config.get("WORKFLOWS_SSE_MAX_SECONDS") or entry.limits.max_seconds)
    config = current_app.config  # WORKFLOWS_SSE_*: per-app overrides (tests), else the WORKFLOWS_EVENTS_* settings
    entry.watch.every = float(config.get("WORKFLOWS_SSE_KEY_CHECK") or entry.limits.key_check)
    try:
        slot = entry.admit(caller, max_seconds, config.get("WORKFLOWS_SSE_MAX_STREAMS_PER_USER"),
                           config.get("WORKFLOWS_SSE_MAX_STREAMS_PER_KEY"))
    except TooManyStreams as exc:  # answered like every rate limit here, with Retry-After
        details = {k: v for k, v in exc.details.items() if k != "retry_after"}
        raise RateLimited(exc.message, int(exc.details["retry_after"]), details) from None
    sub = events.subscribe(caller.key_id)  # before the catch-up is read, so nothing falls between catch-up and live
    try:  # here, not in the body: a failure is still an answer in the error shape (503 when Redis is away)
        opening, last = entry.opening(caller.identity, start)
    except BaseException:
        sub.close()
        entry.slots.give_back([slot])
        raise
    body = event_stream(sub, entry, caller, slot, opening, last, heartbeat, max_seconds)
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
