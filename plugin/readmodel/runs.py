"""A run as the API answers it, composed from the read model: the Redis snapshot when it is fresh, Temporal
otherwise (and then the snapshot is refreshed from Temporal's answer, versioned by history length so it never goes
back in time). The views call :class:`RunReads` once and serialise what it answers; nothing here knows HTTP."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any
from urllib.parse import quote

import redis

from plugin import metrics
from plugin.config import Settings
from plugin.errors import NotFound
from plugin.gateway_ops import runs as run_ops
from plugin.models import PENDING, Identity
from plugin.store.inbox import Inbox, closed_out
from plugin.store.snapshots import OPEN_STATUSES, RunSnapshots
from plugin.temporal_gateway import TemporalGateway

log = logging.getLogger(__name__)


def may_see_run(run: dict[str, Any], who: Identity) -> bool:
    """Admins see every run; a user sees runs they started or hold a request in."""
    if who.is_admin:
        return True
    if who.user and run.get("started_by") == who.user:
        return True
    return any(who.user in r["users"] or set(who.groups) & set(r["groups"]) for r in run["requests"])


def may_act_on_run(run: dict[str, Any], who: Identity) -> bool:
    """Cancel and retry: admins, and the person who started the run."""
    return who.is_admin or bool(who.user and run.get("started_by") == who.user)


def _audit(doc_audit: list[dict[str, Any]], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored audit plus decisions the inbox already holds but the stored audit does not yet."""
    audit = list(doc_audit)
    known = {(a.get("action"), a.get("request_id"), a.get("actor"), a.get("at")) for a in audit}
    for request in requests:
        for d in request.get("decisions", []):
            if ("decided", request["id"], d["actor"], d["at"]) not in known:
                audit.append({"at": d["at"], "actor": d["actor"], "action": "decided", "request_id": request["id"],
                              "comment": d.get("comment", ""),
                              "details": {"resolution": d["resolution"],
                                          **{k: d[k] for k in ("via", "issuer") if d.get(k)}}})
    return sorted(audit, key=lambda a: a.get("at") or "")


def unsettled(run: dict[str, Any]) -> bool:
    """An ended run that still lists a pending request: its snapshot is missing a write (e.g. the run's own
    withdrawal of the request), so Temporal is asked, and what it says is stored (an ended run has no pending
    request)."""
    return run["status"] not in OPEN_STATUSES and any(r["status"] == PENDING for r in run["requests"])


def _closed_out(requests: list[dict[str, Any]], ended_at: str | None) -> list[dict[str, Any]]:
    """An ended run has no pending request: one still pending (the run was terminated, or its own clean-up
    did not get written) is shown, and stored, as cancelled."""
    return [closed_out(r, ended_at) if r["status"] == PENDING else r for r in requests]


class RunReads:
    """Reads of runs for one API app: its settings, Temporal gateway, inbox and run snapshots."""

    def __init__(self, settings: Settings, gateway: TemporalGateway, inbox: Inbox, snapshots: RunSnapshots) -> None:
        self.settings = settings
        self.gateway = gateway
        self.inbox = inbox
        self.snapshots = snapshots

    def compose(self, doc: dict[str, Any], requests: list[dict[str, Any]], retries: list[str]) -> dict[str, Any]:
        """The run as the API answers it, from a snapshot doc, its requests' documents and its retries."""
        run = dict(doc)
        run["retries"] = retries
        ordered = sorted(requests, key=lambda r: (r.get("created_at") or "", r["id"]))
        run["requests"] = ordered
        run["decisions"] = [dict(d, request_id=r["id"]) for r in ordered for d in r.get("decisions", [])]
        run["audit"] = _audit(doc.get("audit") or [], ordered)
        if run["status"] in OPEN_STATUSES:
            run["status"] = "waiting" if any(r["status"] == PENDING for r in ordered) else "running"
        settings = self.settings
        run["temporal_ui_url"] = (f"{settings.effective_ui_url}/namespaces/{quote(settings.temporal_namespace)}"
                                  f"/workflows/{quote(doc['id'], safe='')}")
        return run

    def refresh(self, run_id: str, with_state: bool = True) -> dict[str, Any]:
        """Ask Temporal, store what it said as the snapshot (and the requests in the inbox), and answer it."""
        task_queue = self.settings.task_queue
        described = self.gateway.call(lambda c: run_ops.describe_run(c, run_id, with_state=with_state))
        retries: list[str] = []
        if described.doc["status"] not in OPEN_STATUSES:
            retries = self.gateway.call(lambda c: run_ops.retries_of(c, run_id, task_queue))
        requests = [dataclasses.asdict(r) for r in described.requests or []]
        if described.requests is None:
            # The workflow did not answer its state (busy or no worker): its requests as the read model knows
            # them keep the status honest (a run waiting on a person must not read as merely running).
            requests = self._known_requests(run_id)
        if described.doc["status"] not in OPEN_STATUSES:
            requests = _closed_out(requests, described.doc.get("ended_at"))
        if described.requests is None:
            self._put_requests(requests)
        else:
            try:
                for request in requests:
                    self.inbox.put(request)
                self.snapshots.add_retries(run_id, retries)
                if not self.snapshots.put(described.doc, described.start_ms, described.seq,
                                          [r["id"] for r in requests], request_docs=requests):
                    # The worker wrote a newer snapshot meanwhile, but it may not list these requests yet.
                    for request in requests:
                        self.snapshots.link_request(run_id, request["id"])
            except redis.RedisError as exc:  # Temporal answered; the read model catches up later
                metrics.REDIS_ERRORS.labels("snapshot_refresh").inc()
                log.warning("snapshot refresh of %s failed: %s", run_id, exc)
        return self.compose(described.doc, requests, retries)

    def _put_requests(self, requests: list[dict[str, Any]]) -> None:
        try:
            for request in requests:
                self.inbox.put(request)
        except redis.RedisError as exc:  # the read model catches up on a later read
            metrics.REDIS_ERRORS.labels("inbox_write").inc()
            log.warning("inbox write of a run's requests failed: %s", exc)

    def _known_requests(self, run_id: str) -> list[dict[str, Any]]:
        try:
            snap = self.snapshots.get(run_id)
        except redis.RedisError:
            metrics.REDIS_ERRORS.labels("snapshot_read").inc()
            return []
        return [r for r in snap.requests.values() if r is not None] if snap is not None else []

    def read(self, run_id: str) -> dict[str, Any]:
        """The run, from the snapshot when it is fresh, else from Temporal."""
        try:
            snap = self.snapshots.get(run_id)
        except redis.RedisError as exc:
            metrics.REDIS_ERRORS.labels("snapshot_read").inc()
            log.warning("snapshot read of %s failed, asking Temporal: %s", run_id, exc)
            snap = None
        if snap is not None and snap.is_fresh():
            run = self.compose(snap.doc, [r for r in snap.requests.values() if r is not None], snap.retries)
            if not unsettled(run):
                return run
        return self.refresh(run_id)

    def visible(self, run_id: str, who: Identity) -> dict[str, Any]:
        """The run if the caller may see it; NotFound otherwise (nobody learns a hidden run exists)."""
        run = self.read(run_id)
        if not may_see_run(run, who):
            raise NotFound(f"Run {run_id} not found")
        return run
