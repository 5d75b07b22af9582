"""CORS for panels and pages on other origins: an allow-list, preflights answered without a key.

Origins come from the runtime settings (the settings page), by default ``WORKFLOWS_CORS_ORIGINS``, read on every
request so a change needs no restart. ``null`` (the origin of Appsmith's sandboxed custom widget iframes, and of
every other sandboxed page) is allowed only when listed, even with ``*``; credentials are never allowed together
with ``*``.
"""

from __future__ import annotations

import re

from flask import Flask, Response, request

from plugin.config import Settings
from plugin.errors import Forbidden

ALLOWED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match", "Last-Event-ID",
                   "X-APPSMITH-SIGNATURE", r"X-Workflows-[A-Za-z0-9-]+"]
EXPOSED_HEADERS = ["Retry-After", "Location", "ETag"]
MAX_AGE = 600
# Blueprints that answer their own CORS: the payload codec, called by Temporal's web UI from its own origin
# (WORKFLOWS_TEMPORAL_UI_URL; see plugin/api/admin/codec.py).
OWN_CORS_BLUEPRINTS = frozenset({"codec"})
# What ``*`` stands for: any real origin, never ``null``.
ANY_ORIGIN = re.compile(r"^(?!null$)[a-z][a-z0-9+.\-]*://[^/\s]+$", re.IGNORECASE)
_HEADER_PATTERNS = [re.compile(p, re.I) for p in ALLOWED_HEADERS]


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


_SETTINGS = "workflows.cors_settings"


def _origins(app: Flask) -> tuple[str, ...]:
    svc = app.extensions.get("workflows")
    listed = svc.runtime.current().cors_origins if svc is not None else app.extensions[_SETTINGS].cors_origins
    return tuple(o.lower() for o in listed)


def allowed(app: Flask, origin: str | None) -> bool:
    """Whether a browser page from ``origin`` may call the API (None: not a browser's cross-origin call)."""
    if origin is None:  # nothing to look up
        return False
    listed = _origins(app)
    return origin.lower() in listed or ("*" in listed and bool(ANY_ORIGIN.match(origin)))


def cors_headers(app: Flask, origin: str | None, preflight: bool, asked_headers: str = "") -> list[tuple[str, str]]:
    """The CORS headers of an answer to ``origin`` (none when it is not allowed; ``Vary`` is the caller's)."""
    if not allowed(app, origin):
        return []
    headers = [("Access-Control-Allow-Origin", origin or "")]
    if app.extensions[_SETTINGS].cors_credentials and origin != "null" and "*" not in _origins(app):
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if preflight:
        asked = [h.strip() for h in asked_headers.split(",")]
        granted = [h for h in asked if h and any(p.fullmatch(h) for p in _HEADER_PATTERNS)]
        headers.append(("Access-Control-Allow-Methods", ", ".join(ALLOWED_METHODS)))
        if granted:
            headers.append(("Access-Control-Allow-Headers", ", ".join(granted)))
        headers.append(("Access-Control-Max-Age", str(MAX_AGE)))
    else:
        headers.append(("Access-Control-Expose-Headers", ", ".join(EXPOSED_HEADERS)))
    return headers


def init_cors(app: Flask, settings: Settings) -> None:
    """Answer preflights before any authentication, and add CORS headers for allowed origins."""
    app.extensions[_SETTINGS] = settings

    @app.before_request
    def _preflight():  # registered before the blueprints' key checks, so it runs first
        if not _is_preflight() or request.url_rule is None or request.blueprint in OWN_CORS_BLUEPRINTS:
            return None
        origin = request.headers.get("Origin")
        if not allowed(app, origin):
            raise Forbidden(f"Origin {origin!r} may not call this API from a browser; an admin can add it on the "
                            "settings page (/settings) or to WORKFLOWS_CORS_ORIGINS", {"origin": origin})
        response = app.make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]  # no content
        return response

    @app.after_request
    def _cors_headers(response: Response) -> Response:
        if "Vary" in response.headers:
            response.vary.add("Origin")
        else:  # the usual case, without parsing and rewriting a header set
            response.headers["Vary"] = "Origin"
        origin = request.headers.get("Origin")
        if origin is None:
            return response
        for name, value in cors_headers(app, origin, _is_preflight(),
                                        request.headers.get("Access-Control-Request-Headers", "")):
            response.headers[name] = value
        return response
