"""An apispec plugin: every documented 4xx/5xx answer carries the one error shape in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


class ErrorShapePlugin(BasePlugin):
    """Views document errors with a code and a description (``alt_response(404, description=...)``); this
    gives each of them the Error schema, so the document says what every error body looks like."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            for code, response in operation.get("responses", {}).items():
                if str(code)[0] in "45" and isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("content", ERROR_CONTENT)
