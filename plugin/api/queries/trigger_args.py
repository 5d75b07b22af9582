"""Trigger workflow's query arguments and body read without webargs when they are plain (the way hosts send
them): the same values ``TriggerArgs`` and ``TriggerBody`` would load, without webargs' parse of each location and
a second parse of the JSON body (``plugin.api.http.input_limits`` has parsed and checked it already). Anything else
(an unknown or repeated argument, a value the schema must judge, a body other than one ``input`` object, a body
whose bytes a strict UTF-8 reading could refuse) goes through the ``@bp.arguments`` parsers as before, with their
errors. The view keeps flask-smorest's documentation: the OpenAPI document does not change."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import request

from plugin.api.plain_args import plain_args


def plain_body() -> dict[str, Any] | None:
    """The body as ``TriggerBody`` loads it (``{"input": {...}}``) when it is one JSON object with only an ``input``
    object in it, else None (webargs decides, and may refuse).

    webargs reads the body with a strict UTF-8 decoding; Flask's parser (which ``input_limits`` used) also reads
    UTF-16/32, a byte-order mark and encoded surrogates (``surrogatepass``). A body that starts with ``{`` followed
    by a non-zero byte is UTF-8 without a mark, and one without the byte 0xED holds no encoded surrogate: for those
    both parsers read the same value."""
    if not request.is_json:  # webargs' own test of the content type (then the body counts as missing)
        return None
    raw = request.get_data(cache=True)
    if raw[:1] != b"{" or raw[1:2] == b"\x00" or b"\xed" in raw:
        return None
    data = request.get_json(silent=True)  # cached: input_limits parsed it (refusing NaN and Infinity)
    if type(data) is not dict or len(data) != 1 or type(data.get("input")) is not dict:
        return None
    return {"input": dict(data["input"])}  # what fields.Dict loads: a copy of the object


def plain_arguments(query_schema: ma.Schema) -> Callable[[Callable], Callable]:
    """Put over ``@bp.arguments(query_schema, location="query")`` followed by ``@bp.arguments(<body schema>)``
    (the view they return): plain arguments and body are handed to the view below both, others are parsed by
    webargs."""
    defaults = query_schema.load({})

    def decorator(parsed: Callable) -> Callable:
        # webargs(query) -> flask-smorest(query) -> webargs(body) -> flask-smorest(body), which calls the view
        # below both parsers with (query arguments, body) after the arguments it was given
        below = parsed.__wrapped__.__wrapped__.__wrapped__

        @functools.wraps(parsed)
        def quick(*args: Any, **kwargs: Any) -> Any:
            loaded = plain_args(query_schema, request.args, defaults)
            body = plain_body() if loaded is not None else None
            return parsed(*args, **kwargs) if body is None else below(*args, loaded, body, **kwargs)
        return quick
    return decorator
