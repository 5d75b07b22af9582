"""Rate limits for the whole API: one Flask-Limiter ``limiter`` with its counters in Redis.

There are no default limits: a limit applies only where a view or a blueprint asks for one. Two ways:

- the decorator, for limits known up front::

      from plugin.api.http.rate_limits import limiter, keyed

      @bp.route(...)
      @limiter.limit("60/minute", key_func=keyed("api-key", lambda: g.key.name))

- ``hit(limit, scope, identity)`` inside a view, for limits that depend on what the view found (a webhook's
  own limit, a failed authentication): it counts one hit and raises ``RateLimited`` once over the limit.

Either way a caller over a limit gets 429 in the one error shape with a ``Retry-After`` header (seconds).
Counters live in the app's Redis (the embedded server's unix socket works too), so every API process and
replica shares them. Every limit counts in the storage of the app that serves the request (kept in
``app.extensions``), so several apps in one process (tests, or an app made again) each count in their own
Redis: ``PerAppLimiter`` answers Flask-Limiter's ``storage`` and ``limiter`` from the current app (Flask-Limiter
keeps one of each per extension object, which was the app made last).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from flask import Flask, Response, current_app, has_app_context, request
from flask.globals import request_ctx
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse
from limits.storage import RedisStorage, Storage
from limits.strategies import RateLimiter

from plugin.api.http.errors import error_response
from plugin.config import Settings
from plugin.errors import PluginError
from plugin.store import scripts

KEY_PREFIX = "wf:rl"
EXTENSION = "workflows.rate_limits"  # the app's own limiting strategy (with its storage)
JOINABLE = "workflows.rate_limits.joinable"


def _remote_address() -> str:
    return request.remote_addr or "unknown"


STORAGE = "workflows.rate_limits.storage"  # the app's counter storage


class PerAppLimiter(Limiter):
    """Flask-Limiter's extension, counting in the storage of the app that serves the request (outside a request:
    the app made last, as Flask-Limiter does)."""

    def init_app(self, app: Flask) -> None:
        """Make the app's storage and strategy, and keep them with the app."""
        super().init_app(app)
        app.extensions[STORAGE] = self._storage
        app.extensions[EXTENSION] = self._limiter

    @property
    def storage(self) -> Storage:
        """The current app's counter storage."""
        found = current_app.extensions.get(STORAGE) if has_app_context() else None
        return found if found is not None else super().storage

    @property
    def limiter(self) -> RateLimiter:
        """The current app's limiting strategy."""
        found = current_app.extensions.get(EXTENSION) if has_app_context() else None
        return found if found is not None else super().limiter


# Flask-Limiter's own headers are off: its Retry-After can round down to 0 near a window's end; the 429
# handlers below set Retry-After (at least 1 second) themselves.
limiter = PerAppLimiter(key_func=_remote_address, default_limits=[], headers_enabled=False,
                        strategy="fixed-window")


def strategy(app: Flask | None = None) -> RateLimiter:
    """The limiting strategy of the app (the current one by default), counting in that app's Redis."""
    return (app or current_app).extensions[EXTENSION]


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


@lru_cache(maxsize=256)
def parse_limit(limit: str) -> RateLimitItem:
    """A limit such as ``"60/minute"`` or ``"5 per second"``; ValueError when it cannot be read."""
    return parse(limit)


# A Lua function (for this module's script and for scripts that join an admission to their own work, e.g. the run
# read): admit(k, a) reads KEYS[k + 1], a counter that must be under ARGV[a + 1] (0: none), and KEYS[k + 2], a
# ceiling (ARGV[a + 2], 0: none) that refuses only when the first counter is not zero (an address that has failed
# at all, once failures from everywhere reached the ceiling); then it counts one hit on KEYS[k + 3..] (the last
# keys of the script), in order, each with its expiry and limit in ARGV[a + 3..] (what ``limits``' fixed window
# does, on the same keys). Answers {0, ttl} when the first counter is at its limit, {-1, ttl} when the ceiling
# refuses (nothing counted either way), {i, ttl} when counter i went over its limit (the ones after it not
# counted), else nil.
ADMIT_FUNCTION = """
local function admit(k, a)
  local under = tonumber(ARGV[a + 1])
  local seen = tonumber(redis.call('GET', KEYS[k + 1]) or '0')
  if under > 0 and seen >= under then
    return {0, redis.call('TTL', KEYS[k + 1])}
  end
  local ceiling = tonumber(ARGV[a + 2])
  if ceiling > 0 and seen > 0 and tonumber(redis.call('GET', KEYS[k + 2]) or '0') >= ceiling then
    return {-1, redis.call('TTL', KEYS[k + 2])}
  end
  for i = 3, #KEYS - k do
    local count = redis.call('INCRBY', KEYS[k + i], 1)
    if count == 1 then redis.call('EXPIRE', KEYS[k + i], ARGV[a + 2 * i - 3]) end
    if count > tonumber(ARGV[a + 2 * i - 2]) then return {i - 2, redis.call('TTL', KEYS[k + i])} end
  end
  return nil
end
"""
_CHECK_AND_COUNT = ADMIT_FUNCTION + "return admit(0, 0) or {}\n"


@dataclass(frozen=True)
class Counter:
    """One fixed-window counter: ``limit`` for ``identity`` in ``scope``, and what to say once over it
    (``{retry_after}`` in the message is replaced by the seconds to wait)."""

    limit: str
    scope: str
    identity: str
    message: str

    @property
    def item(self) -> RateLimitItem:
        """The parsed limit."""
        return parse_limit(self.limit)

    def redis_key(self, storage: RedisStorage) -> str:
        """The key ``limits`` keeps this counter under."""
        return storage.prefixed_key(self.item.key_for(self.scope, _digest(self.identity)))

    def refusal(self, ttl: float) -> RateLimited:
        """The 429 for this counter, its window ending in ``ttl`` seconds."""
        retry_after = max(1, math.ceil(ttl))
        message = self.message.replace("{retry_after}", str(retry_after))
        return RateLimited(message, retry_after, {"limit": str(self.item)})


@dataclass(frozen=True)
class Admission:
    """What admitting one request takes: ``under`` must be under its limit (nothing is counted otherwise), then
    each of ``hits`` counts one hit, refused at the first over its limit."""

    under: Counter | None
    hits: tuple[Counter, ...] = ()
    # refuses when reached and ``under`` has counted anything (failures from everywhere, against a suspect address)
    ceiling: Counter | None = None

    @property
    def empty(self) -> bool:
        """Nothing to check or count."""
        return self.under is None and not self.hits

    def keys_and_args(self, storage: RedisStorage) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The KEYS and ARGV of ``ADMIT_FUNCTION`` (appended after a joined script's own): fixed for an admission
        and a storage (a fixed window's key names no time), so worked out once per process (``_keys_and_args``)."""
        return _keys_and_args(self, storage)

    def _work_out_keys_and_args(self, storage: RedisStorage) -> tuple[list[str], list[int]]:
        under, ceiling = self.under, self.ceiling if self.under is not None else None
        keys = [under.redis_key(storage) if under is not None else f"{KEY_PREFIX}:unused",
                ceiling.redis_key(storage) if ceiling is not None else f"{KEY_PREFIX}:unused"]
        args: list[int] = [under.item.amount if under is not None else 0,
                           ceiling.item.amount if ceiling is not None else 0]
        for counter in self.hits:
            keys.append(counter.redis_key(storage))
            args += [counter.item.get_expiry(), counter.item.amount]
        return keys, args

    def settle(self, answer: Any) -> None:
        """Raise the refusal that ``admit`` answered ({index, ttl}); nothing when it admitted (nil or {})."""
        if answer:
            index, ttl = int(answer[0]), int(answer[1])
            refused = self.ceiling if index == -1 else self.under if index == 0 else self.hits[index - 1]
            raise refused.refusal(ttl)  # type: ignore[union-attr]


@lru_cache(maxsize=4096)
def _keys_and_args(admission: Admission, storage: RedisStorage) -> tuple[tuple[str, ...], tuple[int, ...]]:
    keys, args = admission._work_out_keys_and_args(storage)
    return tuple(keys), tuple(args)


def check_and_count(under: Counter | None, hits: list[Counter], ceiling: Counter | None = None) -> None:
    """In one Redis call: refuse when ``under`` is at its limit (counting nothing), or when ``ceiling`` is reached
    and ``under`` is not zero, else count one hit on each of ``hits`` in turn and refuse at the first over its
    limit. The counters are the ones the limiter's own ``hit`` and ``test`` use, so both ways of counting agree."""
    admit(Admission(under, tuple(hits), ceiling))


def admit(admission: Admission) -> None:
    """``check_and_count`` of an admission."""
    if admission.empty:
        return
    storage = strategy().storage
    if not isinstance(storage, RedisStorage):  # another storage (memory://): one call per counter
        _check_and_count_each(admission.under, list(admission.hits), admission.ceiling)
        return
    keys, args = admission.keys_and_args(storage)
    admission.settle(_script(storage)(keys=keys, args=args))


def join_or_admit(admission: Admission | None) -> RedisStorage | None:
    """Where a view counts ``admission`` in its own Redis call: the counters' storage, the Redis of its services.
    None when nothing is left to count: no admission, an empty one, or one that cannot be joined, which is then
    made here (429 when over a limit)."""
    if admission is None or admission.empty:
        return None
    storage = joinable_storage()
    if storage is None:
        admit(admission)
    return storage


def joinable_storage(app: Flask | None = None) -> RedisStorage | None:
    """The app's counter storage when it is the Redis of the app's services (so one script can admit a request
    and read what it asks for), else None."""
    app = app or current_app
    joinable = app.extensions.get(JOINABLE)
    if joinable is None:
        storage = strategy(app).storage
        services = app.extensions.get("workflows")
        same = (isinstance(storage, RedisStorage) and services is not None
                and storage_uri(services.settings.effective_redis_url) == app.config.get("RATELIMIT_STORAGE_URI"))
        joinable = app.extensions[JOINABLE] = (storage if same else False,)
    return joinable[0] or None


def _check_and_count_each(under: Counter | None, hits: list[Counter], ceiling: Counter | None) -> None:
    limits = strategy()
    if under is not None and ceiling is not None:
        ceiling_ids = (ceiling.scope, _digest(ceiling.identity))
        seen = limits.get_window_stats(under.item, under.scope, _digest(under.identity)).remaining
        if seen < under.item.amount and not limits.test(ceiling.item, *ceiling_ids):
            raise ceiling.refusal(limits.get_window_stats(ceiling.item, *ceiling_ids).reset_time - time.time())
    for counter, counts in ([(under, False)] if under is not None else []) + [(c, True) for c in hits]:
        ids = (counter.scope, _digest(counter.identity))
        if (limits.hit if counts else limits.test)(counter.item, *ids):
            continue
        raise counter.refusal(limits.get_window_stats(counter.item, *ids).reset_time - time.time())


def _script(storage: RedisStorage) -> Any:
    script = getattr(storage, "_workflows_check_and_count", None)
    if script is None:
        script = scripts.register(storage.get_connection(), _CHECK_AND_COUNT)
        storage._workflows_check_and_count = script  # type: ignore[attr-defined]
    return script


def hit(limit: str, scope: str, identity: str, message: str | None = None) -> None:
    """Count one request of ``identity`` against ``limit`` in ``scope``; raise RateLimited when over it."""
    item = parse_limit(limit)
    limits = strategy()
    key = (scope, _digest(identity))
    if limits.hit(item, *key):
        return
    reset_at, _ = limits.get_window_stats(item, *key)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(message or f"Too many requests: the limit is {item}; try again in {retry_after} s",
                      retry_after, {"limit": str(item)})


def _with_retry_after(response, retry_after: int):
    response.headers["Retry-After"] = str(retry_after)
    return response


def _middleware_limits(limiter: Limiter) -> bool:
    """Whether any limit applies to requests without a decorator: default, application, blueprint or meta."""
    manager = limiter.limit_manager
    return bool(manager.default_limits or manager.application_limits or manager._blueprint_limits
                or limiter._meta_limits)


def middleware_limits() -> bool:
    """Whether a limit applies to requests without a decorator (then each goes through Flask-Limiter's check)."""
    return _middleware_limits(limiter)


def _limiter_used() -> bool:
    """Whether the limiter kept state for this request (it checked a limit)."""
    return hasattr(request_ctx._get_current_object(), "_limiter_request_context")


def hooks_only_when_needed(app: Flask, limiter: Limiter) -> None:
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
        if _middleware_limits(limiter):
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
                                                       "socket_connect_timeout": 3,
                                                       "max_connections": max(100, settings.api_threads + 32)})
    limiter.init_app(app)  # keeps this app's storage and strategy in app.extensions
    hooks_only_when_needed(app, limiter)

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
