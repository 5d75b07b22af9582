"""Runs: status, input, output, requests and decisions of one run."""

from __future__ import annotations

from urllib.parse import quote

from flask_smorest import Blueprint

from plugin import temporal_ops
from plugin.api.auth import authenticate, current_identity
from plugin.api.schemas import RunSchema
from plugin.api.services import services
from plugin.engine.models import Identity
from plugin.errors import NotFound

bp = Blueprint("runs", __name__, url_prefix="/api/v1/runs", description="Run status and history")


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))


def may_see_run(run: dict, who: Identity) -> bool:
    """Admins see every run; a user sees runs they started or hold a request in."""
    if who.is_admin:
        return True
    if run.get("started_by") == who.user:
        return True
    return any(who.user in r["users"] or set(who.groups) & set(r["groups"]) for r in run["requests"])


@bp.route("/<run_id>")
@bp.response(200, RunSchema)
def get_run(run_id: str):
    """Get run: status, input, output or error, timestamps, requests and decisions."""
    who = current_identity(required=True)
    svc = services()
    run = svc.gateway.call(lambda c: temporal_ops.describe_run(c, run_id))
    if not may_see_run(run, who):
        raise NotFound(f"Run {run_id} not found")
    run["temporal_ui_url"] = (f"{svc.settings.effective_ui_url}/namespaces/"
                              f"{quote(svc.settings.temporal_namespace)}/workflows/{quote(run_id, safe='')}")
    return run
