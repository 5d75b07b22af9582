"""Health for admins (the settings page): Temporal, Redis, workers, runs per query, the read models.

Each part reports its own failure instead of failing the whole answer: a page showing what is wrong is the
point. ``POST /api/v1/admin/health/inbox-rebuild`` rebuilds the inbox from Temporal now.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from plugin.api.http.auth import actor_name, authenticate
from plugin.api.services import services
from plugin.errors import Conflict, PluginError
from plugin.gateway_ops import admin_health as ops
from plugin.readmodel.inbox_rebuild import BUILT_KEY, LOCK_KEY, claim_rebuild, rebuild_inbox, release_rebuild
from plugin.store import health_marks
from plugin.store.admin.settings_audit import SettingsAudit

log = logging.getLogger(__name__)
bp = Blueprint("admin_health", __name__, url_prefix="/api/v1/admin/health",
               description="Health of everything the plugin needs (admin key only)")
PART_TIMEOUT = 5.0
REBUILD_TIMEOUT = 60.0


class AdminHealthSchema(Schema):
    """The health of everything the plugin needs; each part carries its own ``error``."""

    checked_at = fields.String()
    temporal = fields.Dict(metadata={"description": "address, namespace, reachable, version, error"})
    redis = fields.Dict(metadata={"description": "address, reachable, version, memory, persistence, data"})
    workers = fields.Dict(metadata={"description": "task_queue, pollers (identity, last_seen_at, alive), alive, "
                                                   "backlog"})
    queries = fields.List(fields.Dict(), metadata={"description": "per query: open, waiting, failed_24h"})
    read_model = fields.Dict(metadata={"description": "inbox_built_at, rebuilding"})
    restarting = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Parts `up` is restarting now (worker, api, temporal, redis), with why"})


class RebuildSchema(Schema):
    """What a rebuild of the inbox did."""

    requests = fields.Integer(metadata={"description": "Requests of open runs written into the inbox"})
    inbox_built_at = fields.String()


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


_CAUSES = (("refused", "connection refused"), ("timed out", "timed out"), ("dns", "name not resolved"),
           ("certificate", "TLS certificate problem"), ("unauthenticated", "not authenticated"),
           ("permission", "permission denied"))


def _reason(exc: Exception) -> str:
    """A failure as a person reads it: what failed and a short cause, never the client library's internals."""
    text = exc.message if isinstance(exc, PluginError) else str(getattr(exc, "message", "") or "")
    head, found, rest = text.partition(" is unreachable")
    if found:  # the gateway keeps the transport error as the cause: name its kind only
        detail = f"{rest} {exc.__cause__ or ''}".lower()
        cause = next((word for needle, word in _CAUSES if needle in detail), "")
        return f"{head} is unreachable{f' ({cause})' if cause else ''}"
    if isinstance(exc, PluginError) and len(text) <= 200:
        return text
    cause = next((word for needle, word in _CAUSES if needle in text.lower()), "")
    return f"Temporal refused the call{f' ({cause})' if cause else ''}"


def _temporal() -> tuple[dict[str, Any], bool]:
    svc = services()
    part: dict[str, Any] = {"address": svc.settings.effective_temporal_address,
                            "namespace": svc.settings.temporal_namespace, "reachable": False, "version": None}
    try:
        part["version"] = svc.gateway.call(ops.server_version, timeout=PART_TIMEOUT)
        part["reachable"] = True
    except Exception as exc:  # the answer reports it; the page shows it
        part["error"] = _reason(exc)
    return part, part["reachable"]


def _redis_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return "unix socket (embedded Redis)"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or ''}"  # never the password


def _redis() -> dict[str, Any]:
    svc = services()
    part: dict[str, Any] = {"address": _redis_address(svc.settings.effective_redis_url), "reachable": False}
    try:
        info = svc.redis.info()
        part.update(reachable=True, version=info.get("redis_version"), memory={
            "used": info.get("used_memory_human"), "used_bytes": info.get("used_memory"),
            "peak": info.get("used_memory_peak_human"), "max_bytes": info.get("maxmemory") or None,
            "policy": info.get("maxmemory_policy")})
        last_save = info.get("rdb_last_save_time")
        part["persistence"] = {
            "aof": bool(info.get("aof_enabled")), "aof_last_write": info.get("aof_last_write_status"),
            "rdb_last_save_at": datetime.fromtimestamp(last_save, UTC).isoformat(timespec="seconds")
            if last_save else None,
            "rdb_last_save": info.get("rdb_last_bgsave_status"),
            "changes_since_save": info.get("rdb_changes_since_last_save")}
        part["data"] = svc.epoch.check()
    except redis.RedisError as exc:
        log.warning("health: redis: %s", exc)
        part["error"] = "Redis does not answer"
    return part


def _restarting() -> dict[str, str]:
    try:
        return health_marks.down_parts(services().redis)
    except redis.RedisError:
        return {}


def _read_model() -> dict[str, Any]:
    try:
        built, lock = services().redis.mget(BUILT_KEY, LOCK_KEY)
    except redis.RedisError:
        return {"inbox_built_at": None, "rebuilding": False, "error": "Redis does not answer"}
    at = datetime.fromtimestamp(float(built), UTC).isoformat(timespec="seconds") if built else None
    return {"inbox_built_at": at, "rebuilding": bool(lock)}


@bp.route("")
@bp.doc(operationId="adminHealth")
@bp.response(200, AdminHealthSchema)
@bp.alt_response(401, description="No or invalid key")
@bp.alt_response(403, description="Not an admin key")
def admin_health():
    """Temporal (address, namespace, reachable, version), Redis (reachable, memory, persistence, lost data),
    workers (pollers, last seen, backlog), runs per query (open, waiting, failed in 24 h), the inbox."""
    svc = services()
    temporal, reachable = _temporal()
    workers: dict[str, Any] = {"task_queue": svc.settings.task_queue, "pollers": [], "alive": 0, "backlog": None}
    queries: list[dict[str, Any]] = []
    if reachable:
        try:
            workers = svc.gateway.call(lambda c: ops.workers(c, svc.settings.task_queue), timeout=PART_TIMEOUT)
        except Exception as exc:  # reported in the part
            workers["error"] = _reason(exc)
        try:
            queries = svc.gateway.call(lambda c: ops.runs_per_query(c, sorted(svc.workspace.queries)),
                                       timeout=PART_TIMEOUT)
        except Exception as exc:  # reported in the part
            queries = [{"query": name, "error": _reason(exc)} for name in sorted(svc.workspace.queries)]
    else:
        workers["error"] = "Unknown while Temporal is unreachable"
    return {"checked_at": datetime.now(UTC).isoformat(timespec="seconds"), "temporal": temporal,
            "redis": _redis(), "workers": workers, "queries": queries, "read_model": _read_model(),
            "restarting": _restarting()}


@bp.route("/inbox-rebuild", methods=["POST"])
@bp.doc(operationId="rebuildInbox")
@bp.response(200, RebuildSchema)
@bp.alt_response(401, description="No or invalid key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(409, description="A rebuild is already running")
@bp.alt_response(503, description="Temporal or Redis unavailable")
def rebuild_now():
    """Rebuild the inbox from Temporal now (requests of open runs; pending requests of ended runs closed)."""
    svc = services()
    if not claim_rebuild(svc.inbox, int(REBUILD_TIMEOUT)):
        raise Conflict("The inbox is being rebuilt already; look again in a moment")
    try:
        count = svc.gateway.call(lambda c: rebuild_inbox(c, svc.inbox, svc.settings.task_queue),
                                 timeout=REBUILD_TIMEOUT)
    finally:
        release_rebuild(svc.inbox)
    SettingsAudit(svc.redis).record(actor_name(), "inbox_rebuilt", "read_model", {"requests": count})
    return {"requests": count, "inbox_built_at": _read_model()["inbox_built_at"]}
