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
from collections.abc import Iterator
from typing import Any

import jwt
from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from plugin.api.events.hub import EventHub
from plugin.api.http.auth import authenticate, current_identity
from plugin.api.services import per_app, services
from plugin.errors import BadRequest, ServiceUnavailable, Unauthorized
from plugin.models import Identity
from plugin.store.events import Event, EventStream, id_key, valid_id

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
    who = current_identity(required=True)
    claims = {"sub": who.user, "grp": who.groups, "adm": who.is_admin, "kid": g.key.id,
              "exp": int(time.time()) + TOKEN_SECONDS}
    token = jwt.encode(claims, _secret(), algorithm="HS256")
    return {"token": token, "expires_in": TOKEN_SECONDS, "url": f"/api/v1/events?token={token}"}


def _identity_from_token(token: str) -> Identity:
    try:
        claims: dict[str, Any] = jwt.decode(token, _secret(), algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The stream token has expired; ask POST /api/v1/events/token for a new one") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("The stream token is not valid") from None
    if claims.get("kid") and services().keys.record(claims["kid"]) is None:  # the key was revoked since
        raise Unauthorized("The API key this stream token was made with is no longer valid")
    return Identity(user=claims.get("sub") or "", groups=list(claims.get("grp") or []),
                    is_admin=bool(claims.get("adm")))


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
            yield (event.to_sse() if event.visible_to(who) else ""), last


def event_stream(events: EventHub, who: Identity, start: str | None, heartbeat: float,
                 max_seconds: float) -> Iterator[str]:
    """The text of one SSE connection: catch up after ``start``, then live events and heartbeats."""
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
        ends, quiet_since = now + max_seconds, now
        while now < ends:
            batch, overflowed = sub.get(timeout=max(0.0, quiet_since + heartbeat - now))
            if overflowed:
                batch = store.after(last, count=100_000)
            for event in batch:
                if id_key(event.id) <= id_key(last):
                    continue  # already sent during catch-up
                last = event.id
                if event.visible_to(who):
                    quiet_since = time.monotonic()
                    yield event.to_sse()
            now = time.monotonic()
            if now - quiet_since >= heartbeat:  # nothing sent for a while (other users' events do not count)
                quiet_since = now
                yield ": heartbeat\n\n"
    finally:
        sub.close()


@bp.route("")
@bp.doc(responses={"200": {"description": "A text/event-stream of run.updated, request.opened, request.updated, "
                                          "request.decided, request.expired, request.cancelled and events.reset",
                           "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
        parameters=[{"name": "token", "in": "query", "schema": {"type": "string"},
                     "description": "A stream token from POST /api/v1/events/token (instead of headers)"},
                    {"name": "last_event_id", "in": "query", "schema": {"type": "string"},
                     "description": "Resume after this event (the Last-Event-ID header does the same)"}])
@bp.alt_response(400, description="A bad Last-Event-ID, or an app key without X-Workflows-User")
@bp.alt_response(401, description="No valid API key or stream token")
@bp.alt_response(503, description="This API process holds as many streams as its threads allow")
def stream():
    """Server-Sent Events: changes to the runs and requests the caller may see, with heartbeats."""
    token = request.args.get("token")
    if token:
        who = _identity_from_token(token)
    else:
        authenticate(("admin", "app"))
        who = current_identity(required=True)
    start = _start_id()
    events = hub()
    if events.open_streams >= max_streams():
        raise ServiceUnavailable("This API process holds as many event streams as it may; try again shortly "
                                 "(or raise WORKFLOWS_API_THREADS)", {"service": "events"})
    heartbeat = float(current_app.config.get("WORKFLOWS_SSE_HEARTBEAT", HEARTBEAT_SECONDS))
    max_seconds = float(current_app.config.get("WORKFLOWS_SSE_MAX_SECONDS", MAX_STREAM_SECONDS))
    body = event_stream(events, who, start, heartbeat, max_seconds)
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
