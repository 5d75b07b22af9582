"""Conditional GETs for what panels poll: a strong ``ETag`` made from the answer's bytes, and ``304 Not
Modified`` (no body) when the caller's ``If-None-Match`` still names it."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, request

# The answer depends on who asks (keys and users see different things) and may change at any moment:
# a cache may keep it for this caller only, and must ask again (cheaply, with If-None-Match) before reuse.
CACHE_CONTROL = "private, no-cache"


def etag_of(body: bytes) -> str:
    """The entity tag of an answer body (unquoted)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def json_answer(body: bytes, etag: str | None = None) -> Response:
    """A 200 with this JSON body and its ETag, or a bodiless 304 when the request's If-None-Match names it."""
    etag = etag or etag_of(body)
    if ("HTTP_IF_NONE_MATCH" in request.environ and request.method in ("GET", "HEAD")
            and request.if_none_match.contains_weak(etag)):
        response = current_app.response_class(status=304)
        del response.headers["Content-Type"]  # no content
    else:
        response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
