"""Bulk decisions: one person decides up to 100 requests at once with one resolution and comment.

Each request is decided exactly as Resolve request decides it alone (``requests.views.resolve_one``: its own
Temporal update, authorization in the update's validator, audit entry, request lock and read-your-writes inbox
write), and the answer lists, per distinct id, the status and error it would have had alone. The decisions run a
few at a time on a small thread pool, so a hundred finish in a few seconds while the call holds one of the API's
request threads. With ``Idempotency-Key`` a repeat with the same body answers what the first call answered.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from flask import current_app, g
from flask_smorest import Blueprint

from plugin.api.decisions.schemas import BulkDecisionAnswerSchema, BulkResolveBody
from plugin.api.http.auth import acting_person, authenticate
from plugin.api.http.capabilities import require
from plugin.api.openapi.errors import error_documenter
from plugin.api.queries.views import IDEMPOTENCY_HEADER, idempotency_key
from plugin.api.requests.views import ensure_inbox, resolve_one
from plugin.api.schemas import RequestSchema
from plugin.api.services import per_app
from plugin.errors import PluginError, ValidationFailed
from plugin.models import ResolveInput
from plugin.store.idempotency import keyed_digest
from plugin.store.requests.bulk_answers import BulkAnswers

log = logging.getLogger(__name__)

bp = Blueprint("bulk_decisions", __name__, url_prefix="/api/v1/requests", description="Human requests")

BULK_CONCURRENCY = 8  # decisions under way at once per bulk call (threads waiting on the Temporal gateway)
# Decisions of all bulk calls under way at once in one API process: many bulk calls together queue here instead
# of filling the gateway with hundreds of updates (a single resolve does not wait on this).
PROCESS_LIMIT = 16
_in_flight = threading.BoundedSemaphore(PROCESS_LIMIT)
_REQUEST_SCHEMA = RequestSchema()
_document_errors = error_documenter(bp, {
    400: "Bad request or Idempotency-Key", 401: "No or invalid key", 403: "This key may not decide",
    422: "No ids, more than 100, no resolution, or an Idempotency-Key reused with another body",
    503: "Temporal or Redis unavailable"})


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))
    require("decide")


def _fingerprint(ids: list[str], resolution: str, comment: str) -> str:
    text = json.dumps({"ids": ids, "resolution": resolution, "comment": comment}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _decide(app: Any, update: ResolveInput) -> dict[str, Any]:
    """One request's result, as Resolve request would have answered it alone."""
    with app.app_context(), _in_flight:
        try:
            request, repeated = resolve_one(update)
        except PluginError as exc:
            return {"id": update.request_id, "status": exc.status, "outcome": "refused", "request": None,
                    "error": {"code": exc.code, "message": exc.message, "details": exc.details}}
        except redis.RedisError as exc:
            log.warning("bulk decision of %s: Redis failed: %s", update.request_id, exc)
            return {"id": update.request_id, "status": 503, "outcome": "refused", "request": None,
                    "error": {"code": "service_unavailable", "message": "Redis is unavailable; try again",
                              "details": {"service": "redis"}}}
        except Exception:  # a bug: reported for this request alone, so the others' results are not lost
            log.exception("bulk decision of %s failed", update.request_id)
            return {"id": update.request_id, "status": 500, "outcome": "refused", "request": None,
                    "error": {"code": "internal_error", "message": "This decision failed unexpectedly; read the "
                                                                   "request before trying again", "details": {}}}
        return {"id": update.request_id, "status": 200, "outcome": "repeated" if repeated else "decided",
                "request": _REQUEST_SCHEMA.dump(dataclasses.asdict(request)), "error": None}


def decide_all(ids: list[str], resolution: str, comment: str) -> dict[str, Any]:
    """Decide each distinct id (in the order given) a few at a time; the answer of a bulk call."""
    who = acting_person()
    distinct = list(dict.fromkeys(ids))
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the pool's threads need the app
    updates = [ResolveInput(request_id=i, resolution=resolution, identity=who, comment=comment) for i in distinct]
    with ThreadPoolExecutor(max_workers=min(BULK_CONCURRENCY, len(updates)),
                            thread_name_prefix="bulk-resolve") as pool:
        results = list(pool.map(lambda u: _decide(app, u), updates))
    counts = Counter(str(r["status"]) for r in results)
    return {"results": results, "counts": dict(counts),
            "repeated": sum(1 for r in results if r["outcome"] == "repeated"), "duplicates": len(ids) - len(distinct)}


@bp.route("/bulk-resolve", methods=["POST"])
@bp.arguments(BulkResolveBody)
@bp.response(200, BulkDecisionAnswerSchema)
@bp.doc(operationId="bulkResolveRequests", parameters=[{
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": False, "schema": {"type": "string"},
    "description": "The same key and body from the same caller answer what the first call did"}])
@_document_errors(400, 401, 403, 422, 503)
def bulk_resolve(body: dict):
    """Bulk decision: one resolution and comment for up to 100 requests, each decided as Resolve request would
    decide it alone; the answer is 200 with one result per distinct id (its own status: 200, 403, 404, 409,
    422 or 503), also when some or all were refused."""
    ensure_inbox()
    key = idempotency_key()
    if key is None:
        return decide_all(body["ids"], body["resolution"], body["comment"])
    records = per_app("bulk_answers", BulkAnswers)
    digest = keyed_digest(f"bulk|{g.key.name}|{acting_person().user}", key)
    fingerprint = _fingerprint(body["ids"], body["resolution"], body["comment"])
    held = records.claim(digest, fingerprint)
    if held is not None and held.fingerprint != fingerprint:
        raise ValidationFailed(f"This {IDEMPOTENCY_HEADER} was already used with a different body; use a new key",
                               {"fields": {IDEMPOTENCY_HEADER: ["Already used with a different body."]},
                                "header": IDEMPOTENCY_HEADER})
    if held is not None and held.answer is not None:
        return held.answer
    answer = decide_all(body["ids"], body["resolution"], body["comment"])
    records.complete(digest, fingerprint, answer)
    return answer


__all__ = ["bp", "decide_all"]
