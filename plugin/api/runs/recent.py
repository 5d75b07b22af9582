"""Read-your-writes for run history: the API records each run it starts (before answering the trigger), and a
listing merges the runs started in its recent window from that record (``plugin.store.recent_starts``,
``plugin.gateway_ops.listing``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import redis

from plugin import metrics
from plugin.api.services import per_app
from plugin.gateway_ops import listing
from plugin.gateway_ops.runs import StartResult, StartSpec
from plugin.store.recent_starts import RecentStarts, now_ns

log = logging.getLogger(__name__)


def _store() -> RecentStarts:
    return per_app("recent_starts", RecentStarts)


def remember(spec: StartSpec, result: StartResult) -> None:
    """Record a run this call started (not one it found), as run history lists it, before the call answers.

    Kept by the moment it is recorded (after Temporal started the run): a run recorded after a listing began is
    never in that listing's record, so a trigger still in flight as a listing pages cannot show up twice in it
    (once from visibility, then again from its record)."""
    if not result.started:
        return
    at_ns = now_ns()
    item = {"id": result.run_id, "workflow": spec.workflow, "query": spec.inp.query or None,
            "started_by": spec.inp.started_by or None, "app": spec.inp.app or None, "retry_of": spec.retry_of,
            "status": "running", "started_at": datetime.fromtimestamp(at_ns / 1e9, UTC).isoformat(),
            "ended_at": None}
    try:
        _store().record(at_ns, item)
    except redis.RedisError as exc:  # the run started; listings fall back on visibility for it
        metrics.REDIS_ERRORS.labels("recent_starts").inc()
        log.warning("recording the start of %s failed: %s", result.run_id, exc)


def recorded(cursor: listing.Cursor) -> listing.Recorded:
    """The runs the API started in the cursor's recent window (none for a cursor from before the window)."""
    if cursor.begin is None:
        return listing.Recorded()
    return listing.Recorded([(r.id, r.at_ns, r.item) for r in _store().between(cursor.as_of, cursor.begin)])
