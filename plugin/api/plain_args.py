"""Query arguments read without webargs when they are plain (the way panels and hosts send them): the values a
``QueryArgs`` schema of String and Integer fields would load, or None when the schema must decide. Shared by the
inbox page (``plugin.api.requests.list_args``) and Trigger workflow (``plugin.api.queries.trigger_args``)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
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
