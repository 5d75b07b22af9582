"""CORS for panels and pages on other origins: an allow-list, preflights answered without a key.

Origins come from ``WORKFLOWS_CORS_ORIGINS``. ``null`` (the origin of Appsmith's sandboxed custom widget
iframes, and of every other sandboxed page) is allowed only when listed, even with ``*``; credentials are never
allowed together with ``*``.
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_cors import CORS

from plugin.config import Settings
from plugin.errors import Forbidden

ALLOWED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-APPSMITH-SIGNATURE",
                   r"X-Workflows-[A-Za-z0-9-]+"]
EXPOSED_HEADERS = ["Retry-After", "Location"]
MAX_AGE = 600
# Blueprints that answer their own CORS: the payload codec, called by Temporal's web UI from its own origin
# (WORKFLOWS_TEMPORAL_UI_URL; see plugin/api/codec.py).
OWN_CORS_BLUEPRINTS = frozenset({"codec"})
# What ``*`` stands for: any real origin, never ``null``.
ANY_ORIGIN = re.compile(r"^(?!null$)[a-z][a-z0-9+.\-]*://[^/\s]+$", re.IGNORECASE)


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def init_cors(app: Flask, settings: Settings) -> None:
    """Answer preflights before any authentication, and add CORS headers for allowed origins."""
    origins = list(settings.cors_origins)
    patterns: list[str | re.Pattern[str]] = [ANY_ORIGIN if o == "*" else o for o in origins]

    def allowed(origin: str | None) -> bool:
        return origin is not None and (origin.lower() in origins or ("*" in origins and bool(ANY_ORIGIN.match(origin))))

    CORS(app, resources={r"/*": {"origins": patterns}}, methods=ALLOWED_METHODS, allow_headers=ALLOWED_HEADERS,
         expose_headers=EXPOSED_HEADERS, max_age=MAX_AGE,
         supports_credentials=settings.cors_credentials and "*" not in origins, vary_header=True)

    @app.before_request
    def _preflight():  # registered before the blueprints' key checks, so it runs first
        if not _is_preflight() or request.url_rule is None or request.blueprint in OWN_CORS_BLUEPRINTS:
            return None
        origin = request.headers.get("Origin")
        if not allowed(origin):
            raise Forbidden(f"Origin {origin!r} may not call this API from a browser; an admin can add it to "
                            "WORKFLOWS_CORS_ORIGINS", {"origin": origin})
        response = app.make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]  # no content
        return response
