"""The API's JSON: bodies with NaN or Infinity are refused (422 naming the field) wherever they are read, and
answers never carry them (``plugin.finite_json``): a browser's ``JSON.parse`` refuses a whole answer for one."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from plugin import finite_json


class FiniteJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading and writing JSON numbers only."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize as Flask does; a non-finite number is written as ``null``."""
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return finite_json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse as Flask does; NaN, Infinity or a number too large for a float raises a 422 naming the field
        (not a ValueError, so ``get_json(silent=True)`` does not swallow it as "not JSON")."""
        return finite_json.loads(s, **kwargs)


def init_app(app: Flask) -> None:
    """Use the provider for every body read and every answer written."""
    app.json = FiniteJSONProvider(app)
