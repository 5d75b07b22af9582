"""The evidence of a decision: what the person deciding was shown, and a SHA-256 that pins it.

Auditors ask what an approver saw. The workflow, which holds the request, records with each decision the
request's message, metadata and form fields, the resolutions offered and the request version the decision was
applied to, plus a SHA-256 over the canonical JSON of that document (keys sorted, no spaces, UTF-8), so anyone
can recompute it from the stored evidence. Computed in workflow code (``humans.apply_decision``): deterministic,
no clock, no I/O, and the same for every way a decision arrives (the API, bulk decisions, signed links).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from plugin.models import HumanRequest

EVIDENCE_FIELDS = ("request_id", "name", "message", "metadata", "form", "resolutions", "version")


def canonical_json(document: dict[str, Any]) -> bytes:
    """The canonical JSON the hash is taken over: sorted keys, no spaces, UTF-8 (non-ASCII kept as is)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def evidence_hash(document: dict[str, Any]) -> str:
    """The hex SHA-256 of an evidence document's canonical JSON."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def evidence_of(request: HumanRequest) -> dict[str, Any]:
    """What a person deciding this request is shown, at its current version."""
    return {
        "request_id": request.id,
        "name": request.name,
        "message": request.message,
        "metadata": request.metadata,
        "form": [dataclasses.asdict(f) if dataclasses.is_dataclass(f) else dict(f) for f in request.form],
        "resolutions": list(request.resolutions),
        "version": request.version,
    }
