"""The inbox's query arguments read without webargs when they are plain (the way panels and hosts send them):
the same values the schema would load, about a tenth of a page's API CPU less (py-spy on the API under inbox
reads: webargs and marshmallow's load were 8-11% of it). Anything else (an unknown or repeated argument, a value
the schema refuses or converts in a way this does not) goes through ``@bp.arguments`` as before, with its errors.
The view keeps flask-smorest's documentation: the OpenAPI document does not change."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import request
from werkzeug.datastructures import MultiDict


def plain_args(schema: ma.Schema, args: MultiDict[str, str], defaults: dict[str, Any]) -> dict[str, Any] | None:
    """What ``schema`` (a ``QueryArgs`` of String and Integer fields; ``defaults``: what it loads from nothing)
    loads from ``args``, when it is sure to load them as given: None when the schema must decide (and may
    refuse)."""
    given: dict[str, str] = {}
    for name, value in args.items(multi=True):
        if value == "":  # empty means absent (QueryArgs)
            continue
        if name in given or name not in schema.fields:
            return None
        given[name] = value
    loaded = dict(defaults)
    for name, text in given.items():
        field = schema.fields[name]
        value: Any
        if type(field) is ma.fields.String:
            value = text
        elif type(field) is ma.fields.Integer and text.isascii() and text.isdigit() and len(text) <= 9:
            value = int(text)
        else:
            return None
        try:
            for validator in field.validators:
                validator(value)
        except ma.ValidationError:
            return None
        loaded[name] = value
    return loaded


def plain_query(schema: ma.Schema) -> Callable[[Callable], Callable]:
    """Put over ``@bp.arguments(schema, location="query")`` (the view it returns): plain query arguments are
    handed to the view directly, others are parsed by webargs."""
    defaults = schema.load({})

    def decorator(parsed: Callable) -> Callable:
        view = parsed.__wrapped__  # what webargs calls with the parsed arguments

        @functools.wraps(parsed)
        def quick(*args: Any, **kwargs: Any) -> Any:
            loaded = plain_args(schema, request.args, defaults)
            return parsed(*args, **kwargs) if loaded is None else view(*args, loaded, **kwargs)
        return quick
    return decorator
