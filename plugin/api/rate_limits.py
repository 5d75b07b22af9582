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
replica shares them.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from functools import partial

from flask import Flask, Response, request
from flask.globals import request_ctx
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse

from plugin.api.errors import error_response
from plugin.config import Settings
from plugin.errors import PluginError

KEY_PREFIX = "wf:rl"


def _remote_address() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=_remote_address, default_limits=[], headers_enabled=True, strategy="fixed-window")


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


def _middleware_limits() -> bool:
    """Whether any limit applies to requests without a decorator: default, application, blueprint or meta."""
    manager = limiter.limit_manager
    return bool(manager.default_limits or manager.application_limits or manager._blueprint_limits
                or limiter._meta_limits)


def _limiter_used() -> bool:
    """Whether the limiter kept state for this request (it checked a limit)."""
    return hasattr(request_ctx._get_current_object(), "_limiter_request_context")


def _hooks_only_when_needed(app: Flask) -> None:
    """Flask-Limiter's per-request hooks (check, headers, clean-up) cost about a tenth of a light request's CPU
    even when no limit applies, and this API sets limits only on views (decorator or ``hit``). Run the
    check only when a limit could apply without a decorator, and the headers and clean-up only after the
    limiter was used; decorated views check themselves, so every limit keeps working."""
    befores = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit
    afters = app.after_request_funcs.setdefault(None, [])
    inject = next(f for f in afters if isinstance(f, partial) and f.args and f.args[0] is limiter)
    teardowns = app.teardown_request_funcs.setdefault(None, [])
    release = next(f for f in teardowns if getattr(f, "__self__", None) is limiter)

    def check_middleware_limits() -> None:
        if _middleware_limits():
            check()

    def inject_headers(response: Response) -> Response:
        return inject(response) if _limiter_used() else response

    def release_context(exc: BaseException | None = None) -> None:
        if _limiter_used():
            release(exc)

    befores[befores.index(check)] = check_middleware_limits
    afters[afters.index(inject)] = inject_headers
    teardowns[teardowns.index(release)] = release_context


def init_app(app: Flask, settings: Settings) -> None:
    """Point the limiter at the app's Redis and answer every breach in the error shape with Retry-After."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(settings.effective_redis_url))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"key_prefix": KEY_PREFIX, "socket_timeout": 5,
                                                       "socket_connect_timeout": 3})
    limiter.init_app(app)
    _hooks_only_when_needed(app)

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited):
        response, status = error_response(exc.status, exc.code, exc.message, exc.details)
        return _with_retry_after(response, exc.retry_after), status

    @app.errorhandler(RateLimitExceeded)
    def _limit_exceeded(exc: RateLimitExceeded):
        current = limiter.current_limit
        retry_after = max(1, math.ceil(current.reset_at - time.time())) if current else 1
        response, status = error_response(
            429, "rate_limited", f"Too many requests: the limit is {exc.description}; try again in {retry_after} s",
            {"retry_after": retry_after, "limit": exc.description})
        return _with_retry_after(response, retry_after), status
