"""One JSON error shape for the whole API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from plugin import metrics
from plugin.api.http.error_details import check_details
from plugin.errors import PluginError, validation_details

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed",
    414: "uri_too_long", 429: "rate_limited", 431: "headers_too_large",
}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None):
    """A Flask response in the error shape."""
    check_details(code, details or {})
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    """Every error, expected or not, leaves in the one shape."""

    @app.errorhandler(PluginError)
    def _plugin_error(exc: PluginError):
        return answer_for(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        if status == 422 and "messages" in data:
            # webargs nests by location ({"json": {...}, "query": {...}}); the location is noise here.
            messages = data["messages"]
            if isinstance(messages, dict) and len(messages) == 1:
                messages = next(iter(messages.values()))
            message, details = validation_details(messages)
            return error_response(422, "validation_failed", message, details)
        if status == 405:
            allowed = sorted(getattr(exc, "valid_methods", None) or [])
            body, _ = error_response(405, "method_not_allowed",
                                     f"{request.method} is not allowed here; allowed: {', '.join(allowed)}",
                                     {"allowed": allowed})
            body.headers["Allow"] = ", ".join(allowed)
            return body, 405
        if status == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            return error_response(413, "payload_too_large", f"The body is larger than the limit of {limit} bytes "
                                  "(WORKFLOWS_MAX_BODY_BYTES)", {"max_body_bytes": limit})
        message = exc.description or exc.name
        return error_response(status, _HTTP_CODES.get(status, "http_error"), message)

    @app.errorhandler(redis.RedisError)
    def _redis_down(exc: redis.RedisError):
        return answer_for(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        return answer_for(exc)


def answer_for(exc: Exception):
    """The answer in the error shape to an exception that is not an HTTP error (a view's, or one raised in front of
    Flask, ``plugin.api.front``): a PluginError's own, 503 for Redis, 500 (logged) for anything else."""
    if isinstance(exc, PluginError):
        return error_response(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, redis.RedisError):
        metrics.REDIS_ERRORS.labels("api").inc()
        log.warning("redis error: %s", exc)
        # The exception names commands and socket paths: logged, never answered.
        return error_response(503, "service_unavailable", "Redis is unavailable; try again in a moment",
                              {"service": "redis"})
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "An unexpected error happened; it has been logged.")
