"""The events edge: a small ASGI app (Starlette, under uvicorn) that holds the live event streams, so the Flask API
keeps its threads for requests. ``workflows-plugin events`` runs it (``plugin.edge.server``); ``up`` starts and
supervises it, and production runs it beside the API, with a route sending ``/api/v1/events`` to it.

``GET /api/v1/events`` here is the API's route, told by the same code (``plugin.access``): the same keys, user
proofs and stream tokens, the same per-caller filtering, ``Last-Event-ID`` resume, heartbeats and caps, and the
same error shape. Opening a stream (key lookup, token check, caps, catch-up) runs in a worker thread on the
plugin's synchronous stores; holding it is one asyncio task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugin.access.event_feed import StreamDoor, start_id
from plugin.access.failed_auth import FailedAuthLimit
from plugin.access.stream_tokens import StreamCaller
from plugin.config import Settings
from plugin.edge.hub import BLOCK_MS, EdgeHub
from plugin.edge.stream import OpenStream
from plugin.errors import PluginError, ServiceUnavailable, Unauthorized
from plugin.store.admin.keys import KeyStore
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.connection import connect
from plugin.store.stream_limits import StreamSlot

ANY_ORIGIN = re.compile(r"^(?!null$)[a-z][a-z0-9+.\-]*://[^/\s]+$", re.IGNORECASE)
CORS_HEADERS = "Authorization, Last-Event-ID, X-APPSMITH-SIGNATURE, X-Workflows-Identity, X-Workflows-User, " \
               "X-Workflows-Groups, X-Workflows-Key"


@dataclass(frozen=True)
class Admitted:
    """A stream that may open: its caller, where it resumes, its slot."""

    caller: StreamCaller
    start: str | None
    slot: StreamSlot


class Edge:
    """The edge's state for one process: settings, the synchronous stores, the hub."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = connect(settings)
        self.runtime = RuntimeSettings(settings, self.redis)
        self.door = StreamDoor(self.redis, KeyStore(settings, self.redis, self.runtime), settings.streams)
        self.failures = FailedAuthLimit(settings)
        self.hub: EdgeHub | None = None
        # The plugin's own pages (panels, dev host) are served by the API: its origin may always open streams.
        local = f"http://{_loopback(settings.host)}:{settings.port}"
        self.own_origins = tuple({settings.public_base_url.lower(), local, local.replace("://127.0.0.1:", "://localhost:")})

    def allowed_origin(self, origin: str | None) -> str | None:
        """The origin to echo in Access-Control-Allow-Origin, when this browser origin may read streams."""
        if origin is None:
            return None
        listed = tuple(o.lower() for o in self.runtime.current().cors_origins) + self.own_origins
        return origin if origin.lower() in listed or ("*" in listed and ANY_ORIGIN.match(origin)) else None

    def admit(self, request: Request) -> Admitted:
        """Who opens the stream, from where it resumes, and its slot; a PluginError refuses it. An address that
        failed to authenticate too often is refused first (429), and each failure counts."""
        limits = self.door.limits
        address = request.client.host if request.client else "unknown"
        self.failures.refuse_blocked(address)
        try:
            caller = self.door.caller(request.headers, request.query_params.get("token"))
        except Unauthorized:
            self.failures.count(address)
            raise
        start = start_id(request.headers.get("Last-Event-ID") or request.query_params.get("last_event_id"))
        if self.hub is not None and self.hub.open_streams >= limits.max_streams:
            raise ServiceUnavailable("This events process holds as many streams as it may; try again shortly",
                                     {"service": "events"})
        return Admitted(caller, start, self.door.admit(caller, limits.max_seconds))


def _loopback(host: str) -> str:
    host = host.strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def error_response(exc: PluginError, cors: list[tuple[str, str]]) -> Response:
    """A refusal in the plugin's one error shape (``Retry-After`` when the details carry one)."""
    headers = dict(cors)
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    return JSONResponse({"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
                        status_code=exc.status, headers=headers)


def _cors(edge: Edge, request: Request) -> list[tuple[str, str]]:
    origin = edge.allowed_origin(request.headers.get("origin"))
    return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")] if origin else [("Vary", "Origin")]


async def events(request: Request) -> Response | OpenStream:
    """``GET /api/v1/events``: open a stream (or refuse it in the error shape); ``OPTIONS``: a CORS preflight."""
    edge: Edge = request.app.state.edge
    hub = edge.hub
    assert hub is not None  # made at start-up
    try:
        cors, admitted = await asyncio.to_thread(_prepare, edge, request)
    except PluginError as exc:
        return error_response(exc, _cors_safe(edge, request))
    if isinstance(admitted, Response):
        return admitted
    feed = hub.subscribe(admitted.caller)  # before the catch-up is read: nothing falls between
    try:
        opening, last = await asyncio.to_thread(edge.door.opening, admitted.caller.identity, admitted.start)
    except redis.RedisError:
        hub.unsubscribe(feed)
        hub.release(admitted.slot)
        return error_response(ServiceUnavailable("The event store cannot be reached; try again shortly",
                                                 {"service": "redis"}), cors)
    limits = edge.door.limits
    return OpenStream(hub, feed, admitted.slot, opening, last, limits.heartbeat, limits.max_seconds,
                      [(k.lower().encode(), v.encode()) for k, v in cors])


def _prepare(edge: Edge, request: Request) -> tuple[list[tuple[str, str]], Admitted | Response]:
    """In a worker thread: the CORS headers and the admission (or the preflight's answer)."""
    try:
        cors = _cors(edge, request)
    except redis.RedisError:
        raise ServiceUnavailable("The settings store cannot be reached; try again shortly", {"service": "redis"}) \
            from None
    if request.method == "OPTIONS":
        status = 204 if len(cors) > 1 else 403
        return cors, Response(status_code=status, headers=dict(cors + [
            ("Access-Control-Allow-Methods", "GET, OPTIONS"), ("Access-Control-Allow-Headers", CORS_HEADERS),
            ("Access-Control-Max-Age", "600")]))
    try:
        return cors, edge.admit(request)
    except redis.RedisError:
        raise ServiceUnavailable("The key store cannot be reached; try again shortly", {"service": "redis"}) \
            from None


def _cors_safe(edge: Edge, request: Request) -> list[tuple[str, str]]:
    try:
        return _cors(edge, request)
    except redis.RedisError:
        return [("Vary", "Origin")]


async def healthz(request: Request) -> Response:
    """Liveness, with how many streams this process holds."""
    hub: EdgeHub | None = request.app.state.edge.hub
    return Response(json.dumps({"status": "ok", "streams": hub.open_streams if hub else 0}),
                    media_type="application/json")


def create_app(settings: Settings) -> Starlette:
    """The edge's ASGI app; the hub starts with the server's event loop."""
    edge = Edge(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        reader = aioredis.Redis.from_url(settings.effective_redis_url, socket_timeout=BLOCK_MS / 1000 + 5,
                                         socket_connect_timeout=3)
        edge.hub = EdgeHub(edge.door, reader)
        await edge.hub.start()
        try:
            yield
        finally:
            await edge.hub.stop()
            await reader.aclose()

    app = Starlette(routes=[Route("/api/v1/events", events, methods=["GET", "OPTIONS"]),
                            Route("/healthz", healthz, methods=["GET"])], lifespan=lifespan)
    app.state.edge = edge
    return app
