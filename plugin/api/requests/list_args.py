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

from plugin.api.plain_args import plain_args


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
