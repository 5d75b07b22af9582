"""Limits on what a request may carry, checked before anything parses it: JSON nesting depth, a body for
the calls that need one, and JSON (with its content type) for any body sent to the API. (Body size is Flask's
``MAX_CONTENT_LENGTH``; the request line and header sizes are gunicorn's limits, answered in the error shape
by ``plugin.api.http.gunicorn_conf``.)"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.errors import BadRequest, ValidationFailed

# Deeper JSON than this is refused with 422 before it is parsed: Python's parser and Temporal's data converter
# both recurse, and a body of 20 KB can nest a thousand levels.
MAX_JSON_DEPTH = 64
# Calls that act on many things at once must say what they select, even if only ``{}``.
BODY_REQUIRED = ("/api/v1/runs/bulk-cancel", "/api/v1/runs/bulk-retry")

# A string literal (skipped whole, so brackets inside strings do not count) or one bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests arrays and objects deeper than ``limit`` (scanned, not parsed)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token[0] in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif token[0] != ord('"'):
            depth -= 1
    return False


def _refuse_a_cut_stream(raw: bytes) -> None:
    """A body sent without a length (chunked) is read up to the limit and silently cut there: one more byte
    waiting behind it means the body was over the limit (413, not "not valid JSON")."""
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        if request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()


def _check_body() -> None:
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH this raises 413 before reading
    _refuse_a_cut_stream(raw)
    if not raw and request.path in BODY_REQUIRED:
        raise BadRequest("Send the filters as a JSON body: {} selects every run you may act on, at most limit")
    if raw and json_depth_exceeds(raw):
        raise ValidationFailed(
            f"Invalid input: the JSON body nests deeper than {MAX_JSON_DEPTH} levels",
            {"fields": {"_body": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}, "max_depth": MAX_JSON_DEPTH})
    if raw and request.path.startswith("/api/"):  # a body that is there must be JSON; say so plainly
        if not request.is_json:
            raise BadRequest("The body must be JSON: send it with 'Content-Type: application/json'")
        if request.get_json(silent=True) is None:
            raise BadRequest("The body is not valid JSON")


def init_app(app: Flask) -> None:
    """Check every request's body before the views (and their parsers) see it."""
    app.before_request(_check_body)
