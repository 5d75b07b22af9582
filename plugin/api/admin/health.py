"""Liveness and readiness: is the API up, and are Temporal, Redis and a worker really there."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from plugin.api.schemas import HealthSchema, ReadySchema, StrictSchema
from plugin.api.services import services
from plugin.gateway_ops import health as health_ops
from plugin.identity.links import link_base
from plugin.store import health_marks
from plugin.store.admin import worker_agreement

bp = Blueprint("health", __name__, description="Liveness and readiness")

READY_TIMEOUT = 3.0


@bp.route("/healthz")
@bp.response(200, HealthSchema)
def healthz():
    """The API process answers."""
    return {"status": "ok"}


def _check_redis() -> str:
    try:
        services().redis.ping()
        return "ok"
    except Exception as exc:  # any failure is the answer, not an error of this endpoint
        return f"error: {exc}"


def _check_temporal_and_worker() -> tuple[str, str]:
    svc = services()
    try:
        pollers = svc.gateway.call(
            lambda c: health_ops.task_queue_pollers(c, svc.settings.task_queue), timeout=READY_TIMEOUT)
    except Exception as exc:  # readiness reports the failure; it never raises
        return f"error: {getattr(exc, 'message', exc)}", "error: unknown while Temporal is unreachable"
    if pollers == 0:
        return "ok", f"error: no worker is polling task queue {svc.settings.task_queue!r}"
    try:
        why = worker_agreement.disagreement(svc.redis, svc.settings.task_queue, svc.settings.decision_secret,
                                            link_base(svc.settings))
    except Exception:  # Redis down: its own part says so
        why = None
    return "ok", f"error: {why}" if why else "ok"


def _marked_down() -> dict[str, str]:
    try:
        return health_marks.down_parts(services().redis)
    except Exception:  # readiness reports; it never raises
        return {}


def _is_admin() -> bool:
    """The caller sent the admin key (readiness details are for admins only)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        key = services().keys.lookup(token.strip())
    except Exception:  # Redis down: no details, the public answer already says so
        return False
    return key is not None and key.scope == "admin"


class ReadyArgs(StrictSchema):
    scope = fields.String(validate=validate.OneOf(["api"]), metadata={
        "description": "api: only what this API process itself needs to answer (Redis, where keys are); for a load "
                       "balancer's or Kubernetes' readiness probe, so missing workers or a Temporal outage do not take "
                       "every API replica out (calls then answer 503 naming the part)"})


@bp.route("/readyz")
@bp.arguments(ReadyArgs, location="query", unknown=RAISE)
@bp.response(200, ReadySchema)
@bp.alt_response(503, schema=ReadySchema, description="Something the plugin needs is not ready")
def readyz(args: dict):
    """Ready only when Temporal, Redis and at least one worker all are (a worker that checks decisions with
    another WORKFLOWS_DECISION_SECRET, or signs links for another WORKFLOWS_PUBLIC_URL, counts as not ready).

    Each part is ``ok`` or ``error``; with the admin key, ``error: <what went wrong>`` (error texts name
    addresses and socket paths, which the public answer keeps to itself) and ``warnings`` when a setting works
    but is unsafe (no WORKFLOWS_DECISION_SECRET). ``?scope=api``: only this API process's own readiness
    (Redis), for a readiness probe."""
    if args.get("scope") == "api":
        checks = {"redis": _check_redis()}
    else:
        temporal, worker = _check_temporal_and_worker()
        checks = {"temporal": temporal, "redis": _check_redis(), "worker": worker}
    if checks["redis"] == "ok":
        for part, why in _marked_down().items():  # set by `up` while it restarts a child
            if checks.get(part) == "ok":
                checks[part] = f"error: {why}"
    ok = all(v == "ok" for v in checks.values())
    answer: dict = {"status": "ok" if ok else "unavailable"}
    if not _is_admin():
        return answer | {part: "ok" if value == "ok" else "error" for part, value in checks.items()}, 200 if ok else 503
    if not services().settings.decision_secret:
        answer["warnings"] = ["WORKFLOWS_DECISION_SECRET is not set on this API: decisions sent straight to Temporal "
                              "are accepted (docs/production.md)"]
    return answer | checks, 200 if ok else 503
