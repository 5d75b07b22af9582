"""Flask-Limiter's per-request hooks, run only when they can matter: its check costs about a tenth of a light
request's CPU even when no limit applies, and this API sets limits only on views (decorator or ``hit``)."""

from __future__ import annotations

from functools import partial

from flask import Flask, Response
from flask.globals import request_ctx
from flask_limiter import Limiter


def _middleware_limits(limiter: Limiter) -> bool:
    """Whether any limit applies to requests without a decorator: default, application, blueprint or meta."""
    manager = limiter.limit_manager
    return bool(manager.default_limits or manager.application_limits or manager._blueprint_limits
                or limiter._meta_limits)


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
