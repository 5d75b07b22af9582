"""Rate limits for the whole API: one Flask-Limiter ``limiter`` with its counters in Redis.

There are no default limits: a limit applies only where a view or a blueprint asks for one. Two ways:

- the decorator, for limits known up front::

      from plugin.api.rate_limits import limiter, keyed

      @bp.route(...)
      @limiter.limit("60/minute", key_func=keyed("api-key", lambda: g.key.name))

- ``hit(limit, scope, identity)`` inside a view, for limits that depend on what the view found (a webhook's
  own limit, a failed authentication): it counts one hit and raises ``RateLimited`` once over the limit.

Either way a caller over a limit gets 429 in the one error shape with a ``Retry-After`` header (seconds).
Counters live in the app's Redis (the embedded server's unix socket works too), so every API process and
replica shares them. The limiter is one per process: the app made last in a process sets its storage.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

from flask import Flask, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse

from plugin.api.errors import error_response
from plugin.config import Settings
from plugin.errors import PluginError

KEY_PREFIX = "wf:rl"


def _remote_address() -> str:
    return request.remote_addr or "unknown"


# Flask-Limiter's own headers are off: its Retry-After can round down to 0 near a window's end; the 429
# handlers below set Retry-After (at least 1 second) themselves.
limiter = Limiter(key_func=_remote_address, default_limits=[], headers_enabled=False, strategy="fixed-window")


class RateLimited(PluginError):
    """Too many requests for this limit; ``retry_after`` says in how many seconds to try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, details: dict | None = None) -> None:
        super().__init__(message, {"retry_after": retry_after, **(details or {})})
        self.retry_after = retry_after


def storage_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL (``unix://`` is spelled ``redis+unix://`` there)."""
    if redis_url.startswith("unix://"):
        return "redis+" + redis_url
    return redis_url


def keyed(scope: str, identity: Callable[[], str]) -> Callable[[], str]:
    """A ``key_func`` counting per ``scope`` and the identity it returns (hashed: no secret lands in Redis)."""
    def key() -> str:
        return f"{scope}:{_digest(identity())}"
    return key


def digest(value: str) -> str:
    """The hashed identity a counter is kept under."""
    return _digest(value)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def parse_limit(limit: str) -> RateLimitItem:
    """A limit such as ``"60/minute"`` or ``"5 per second"``; ValueError when it cannot be read."""
    return parse(limit)


def hit(limit: str, scope: str, identity: str, message: str | None = None) -> None:
    """Count one request of ``identity`` against ``limit`` in ``scope``; raise RateLimited when over it."""
    item = parse_limit(limit)
    strategy = limiter.limiter
    key = (scope, _digest(identity))
    if strategy.hit(item, *key):
        return
    reset_at, _ = strategy.get_window_stats(item, *key)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(message or f"Too many requests: the limit is {item}; try again in {retry_after} s",
                      retry_after, {"limit": str(item)})


def _with_retry_after(response, retry_after: int):
    response.headers["Retry-After"] = str(retry_after)
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """Point the limiter at the app's Redis and answer every breach in the error shape with Retry-After."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(settings.effective_redis_url))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"key_prefix": KEY_PREFIX, "socket_timeout": 5,
                                                       "socket_connect_timeout": 3})
    limiter.init_app(app)

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited):
        response, status = error_response(exc.status, exc.code, exc.message, exc.details)
        return _with_retry_after(response, exc.retry_after), status

    @app.errorhandler(RateLimitExceeded)
    def _limit_exceeded(exc: RateLimitExceeded):
        current = limiter.current_limit
        retry_after = max(1, math.ceil(current.window.reset_time - time.time())) if current else 1
        response, status = error_response(
            429, "rate_limited", f"Too many requests: the limit is {exc.description}; try again in {retry_after} s",
            {"retry_after": retry_after, "limit": exc.description})
        return _with_retry_after(response, retry_after), status
