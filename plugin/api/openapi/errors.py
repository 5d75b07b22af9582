"""An apispec plugin: every documented 4xx/5xx answer carries the one error shape in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from apispec import BasePlugin
from flask_smorest import Blueprint

ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


class ErrorShapePlugin(BasePlugin):
    """Views document errors with a code and a description (``alt_response(404, description=...)``); this
    gives each of them the Error schema, so the document says what every error body looks like."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            for code, response in operation.get("responses", {}).items():
                if str(code)[0] in "45" and isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("content", ERROR_CONTENT)


def _documented(bp: Blueprint, fn: Any, answers: Iterable[tuple[int, str]]) -> Any:
    for code, description in answers:
        fn = bp.alt_response(code, description=description)(fn)
    return fn


def error_documenter(bp: Blueprint, descriptions: Mapping[int, str]) -> Callable[..., Callable[[Any], Any]]:
    """A decorator factory for ``bp``'s views: ``@document(404, 409)`` documents those error answers with the
    blueprint's descriptions (the Error schema is added by ErrorShapePlugin)."""
    def document(*codes: int) -> Callable[[Any], Any]:
        return lambda fn: _documented(bp, fn, ((code, descriptions[code]) for code in codes))
    return document


def common_errors(bp: Blueprint, common: Mapping[int, str]) -> Callable[..., Callable[[Any], Any]]:
    """A decorator factory for ``bp``'s views: every view documents the ``common`` error answers, plus its own
    ``(code, description)`` pairs: ``@errors((404, "No such schedule"))``."""
    def document(*extra: tuple[int, str]) -> Callable[[Any], Any]:
        return lambda fn: _documented(bp, fn, [*common.items(), *extra])
    return document
