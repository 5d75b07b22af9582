"""The decisions export for admins: ``GET /api/v1/decisions/export?since=&until=&query=&format=jsonl|csv``.

Read from Temporal, the system of record of decisions, not from the inbox read model: the inbox is rebuilt
from the open runs only, so after Redis loses its data the decisions of ended runs are no longer there, and an
audit export must not silently miss them. Visibility lists the runs that may hold decisions in the range, a
page at a time; each run's requests come from its ``run_state`` query, eight at a time; the answer is streamed
(one line per decision, made in [since, until), in run order then decision order) so the first lines leave
before the last run is read. A run whose requests cannot be read is one line with its ``error``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint

from plugin.api.decisions.schemas import ExportArgs, instant
from plugin.api.http.auth import authenticate
from plugin.api.http.capabilities import require
from plugin.api.openapi.errors import error_documenter
from plugin.api.services import services
from plugin.gateway_ops import decisions as decision_ops

bp = Blueprint("decisions", __name__, url_prefix="/api/v1/decisions", description="Decisions (admins)")

COLUMNS = ("decided_at", "request_id", "run_id", "query", "request_name", "actor", "acting_for", "resolution",
           "comment", "via", "issuer", "request_version", "evidence_sha256", "evidence", "error")
_document_errors = error_documenter(bp, {400: "Bad request", 401: "No or invalid key",
                                         403: "Admin key required", 422: "A bad range, query name or format",
                                         503: "Temporal unavailable"})


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))
    require("admin")


def _rows(since: datetime, until: datetime, query: str | None) -> Iterator[dict[str, Any]]:
    """One row per decision made in [since, until), run by run, read from Temporal a page at a time."""
    svc = services()
    visibility = decision_ops.runs_query(svc.settings.task_queue, since, until, query)
    token: bytes | None = None
    while True:
        run_ids, token = svc.gateway.call(lambda c, t=token: decision_ops.runs_page(c, visibility, t))
        for run in svc.gateway.call(lambda c, ids=run_ids: decision_ops.requests_of_runs(c, ids), timeout=60):
            if run.error:
                yield {"run_id": run.run_id, "error": run.error}
            for request in run.requests:
                for d in request.decisions:
                    if since <= instant(datetime.fromisoformat(d.at)) < until:
                        yield {"decided_at": d.at, "request_id": request.id, "run_id": request.run_id,
                               "query": request.query, "request_name": request.name, "actor": d.actor,
                               "acting_for": d.acting_for,
                               "resolution": d.resolution, "comment": d.comment, "via": d.via, "issuer": d.issuer,
                               "request_version": d.evidence.get("version"), "evidence_sha256": d.evidence_sha256,
                               "evidence": d.evidence}
        if token is None:
            return


def _jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula (OWASP CSV injection): a comment written as
    ``=HYPERLINK(...)`` by a user gets a leading apostrophe in the CSV (the JSON lines keep it as written)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        evidence = row.get("evidence")
        cells = {k: _cell(v) for k, v in row.items() if k != "evidence"}
        writer.writerow({**cells, "evidence": json.dumps(evidence, sort_keys=True, separators=(",", ":"),
                                                         ensure_ascii=False) if evidence else ""})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


@bp.route("/export")
@bp.arguments(ExportArgs, location="query")
@bp.doc(operationId="exportDecisions", responses={"200": {
    "description": "One decision per line, streamed: JSON lines (format=jsonl) or CSV with a header (format=csv)",
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}})
@_document_errors(400, 401, 403, 422, 503)
def export(args: dict):
    """Export decisions made in [since, until) (at most 366 days), optionally of one query, with their evidence,
    as JSON lines or CSV, streamed from Temporal (admins)."""
    since, until = instant(args["since"]), instant(args["until"])
    rows = _rows(since, until, args.get("query"))
    first = next(rows, None)  # Temporal's first answer before the 200: a down Temporal is a 503, not a cut stream

    def all_rows() -> Iterator[dict[str, Any]]:
        if first is not None:
            yield first
            yield from rows

    if args["format"] == "csv":
        return Response(stream_with_context(_csv(all_rows())), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=decisions.csv"})
    return Response(stream_with_context(_jsonl(all_rows())), mimetype="application/x-ndjson")
