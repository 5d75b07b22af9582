"""JSON that every parser accepts: no ``NaN``, ``Infinity`` or ``-Infinity``.

Python's ``json`` reads and writes those tokens by default, but they are not JSON (RFC 8259): a browser's
``JSON.parse`` refuses the whole text. One such number stored in a request's payload broke the inbox of every
assignee for good. So bodies that carry one are refused where they are read (``loads``, a 422 naming the field),
and everything the plugin writes (the read models in Redis, the API's answers) goes through ``dumps``, which
writes a non-finite number that got in some other way (an HTTP step's answer, a workflow's own arithmetic, a
document stored before this rule) as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from plugin.errors import ValidationFailed

_NON_FINITE_TOKENS = ("NaN", "Infinity")  # what Python's encoder writes for them (also inside "-Infinity")


class NonFiniteNumber(ValidationFailed):
    """A JSON body carries NaN or an infinite number (also a literal too large for a float, such as ``1e999``)."""


class _Refused:
    """Stands in for a non-finite number while a body is parsed, so its place can be named afterwards."""


_REFUSED = _Refused()


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (containers copied only where one is found)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        items = {key: finite(item) for key, item in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if isinstance(value, (list, tuple)):
        items_list = [finite(item) for item in value]
        return value if all(a is b for a, b in zip(items_list, value, strict=True)) else items_list
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity: such a number is written as ``null``."""
    kwargs["allow_nan"] = False
    try:
        return json.dumps(value, **kwargs)
    except ValueError:  # "Out of range float values are not JSON compliant": rare, so checked only then
        return json.dumps(finite(value), **kwargs)


def clean_text(text: str) -> str:
    """Stored JSON text as it may be served: re-encoded only when it may hold a non-finite number."""
    if not any(token in text for token in _NON_FINITE_TOKENS):
        return text
    return dumps(json.loads(text), separators=(",", ":"))


def _paths(value: Any, prefix: str) -> list[str]:
    if value is _REFUSED:
        return [prefix or "_body"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _paths(item, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _paths(item, f"{prefix}.{i}" if prefix else str(i))]
    return []


def refuse_non_finite(paths: list[str]) -> NonFiniteNumber:
    """The 422 for numbers that are not finite, naming each field."""
    return NonFiniteNumber(
        f"Invalid input: {', '.join(paths)}: not a finite number (NaN and Infinity are not JSON numbers)",
        {"fields": {path: ["Not a finite number."] for path in paths}})


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` that refuses NaN, Infinity and literals too large for a float (a 422 naming each field);
    other malformed text raises ValueError as ``json.loads`` does."""
    seen: list[bool] = []

    def constant(_token: str) -> _Refused:
        seen.append(True)
        return _REFUSED

    def number(token: str) -> float | _Refused:
        parsed = float(token)
        if math.isfinite(parsed):
            return parsed
        seen.append(True)
        return _REFUSED

    data = json.loads(text, parse_constant=constant, parse_float=number, **kwargs)
    if seen:
        raise refuse_non_finite(_paths(data, ""))
    return data


def parse_form_number(name: str, raw: str, kind: str) -> float | int:
    """A form field's text as a finite number of ``kind`` (``number`` or ``integer``); 422 naming it if not."""
    try:
        parsed: float | int = int(raw) if kind == "integer" else float(raw)
    except ValueError:
        raise ValidationFailed(f"{name}: not a {kind}", {"fields": {name: [f"Not a {kind}."]}}) from None
    if isinstance(parsed, float) and not math.isfinite(parsed):
        raise refuse_non_finite([name])
    return parsed
