"""What each decision on a request was made on: ``GET /api/v1/requests/{id}/evidence``.

Read from the inbox read model, which holds each request as its run last published it, decisions and their
evidence included; when the inbox does not have the request (say Redis lost an ended run's requests), the run
itself is asked. Only those who may see the request learn anything (404 for the others, as for the request).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask_smorest import Blueprint

from plugin.api.decisions.schemas import EvidenceSchema
from plugin.api.http.auth import authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.openapi.errors import error_documenter
from plugin.api.requests.views import ensure_inbox
from plugin.api.services import services
from plugin.engine.evidence import evidence_hash
from plugin.engine.humans import may_see
from plugin.errors import NotFound
from plugin.gateway_ops import requests as request_ops
from plugin.models import HumanRequest, request_from_doc

bp = Blueprint("evidence", __name__, url_prefix="/api/v1/requests", description="Human requests")

_document_errors = error_documenter(bp, {401: "No or invalid key", 403: "This key may not read requests",
                                         404: "Unknown request, or one the caller may not see",
                                         503: "Temporal or Redis unavailable"})


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))
    require("read")


def _verified(decision: dict[str, Any]) -> bool | None:
    """Whether the stored hash is the hash of the stored evidence (None when the decision has no evidence)."""
    if not decision.get("evidence"):
        return None
    return evidence_hash(decision["evidence"]) == decision.get("evidence_sha256")


def evidence_answer(request: HumanRequest) -> dict[str, Any]:
    """The request's decisions with what each was made on."""
    decisions = [{**dataclasses.asdict(d), "request_id": request.id} for d in request.decisions]
    return {"request_id": request.id, "run_id": request.run_id, "query": request.query, "status": request.status,
            "version": request.version, "decisions": [{**d, "verified": _verified(d)} for d in decisions]}


@bp.route("/<request_id>/evidence")
@bp.response(200, EvidenceSchema)
@bp.doc(operationId="getRequestEvidence")
@_document_errors(401, 403, 404, 503)
def evidence(request_id: str):
    """Evidence of a request's decisions: what each person was shown (message, metadata, form, resolutions,
    version) and the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8), for those who may see it."""
    who = current_identity(required=True)
    svc = services()
    ensure_inbox()
    doc = svc.inbox.get(request_id)
    request = request_from_doc(doc) if doc is not None else None
    if request is None:
        request_ops.run_id_of(request_id)  # 404 for an id that is not one of ours, before asking Temporal
        request = svc.gateway.call(lambda c: request_ops.current_request(c, request_id))
    if request is None or not may_see(request, who):
        raise NotFound(f"Request {request_id} not found")
    return evidence_answer(request)
