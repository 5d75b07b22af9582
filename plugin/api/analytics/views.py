"""``GET /api/v1/analytics/requests``: SLA figures over the requests the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_smorest import Blueprint
from marshmallow import RAISE

from plugin.api.analytics.schemas import DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS, AnalyticsArgs, AnalyticsSchema
from plugin.api.http.auth import authenticate, current_identity
from plugin.api.http.capabilities import require
from plugin.api.openapi.errors import error_documenter
from plugin.api.services import services
from plugin.errors import ValidationFailed
from plugin.models import Identity
from plugin.readmodel.request_analytics import request_analytics
from plugin.store.requests.request_facts import RequestFacts

bp = Blueprint("analytics", __name__, url_prefix="/api/v1/analytics", description="SLA analytics of requests")

ERRORS = {400: "Bad request", 401: "No or invalid key", 403: "Not allowed", 422: "Invalid input",
          503: "Redis unavailable"}
_document_errors = error_documenter(bp, ERRORS)


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))
    require("read")


@bp.route("/requests")
@bp.doc(operationId="getRequestAnalytics")
@bp.arguments(AnalyticsArgs, location="query", unknown=RAISE)
@bp.response(200, AnalyticsSchema)
@_document_errors(400, 401, 403, 422, 503)
def request_figures(args: dict):
    """SLA analytics: opened, decided, expired, time to decision (p50, p90), share decided by the due time and
    overdue now, per query, assignee or group, over [since, until). An admin key sees every request; otherwise
    the figures cover the caller's requests (assigned to them or their groups, or decided by them) and only
    their own assignee and group rows."""
    who = current_identity(required=True)
    now = datetime.now(UTC)
    until = args.get("until") or now
    since = args.get("since") or until - timedelta(days=DEFAULT_RANGE_DAYS)
    if since >= until:
        raise ValidationFailed("since must be earlier than until (until defaults to now)",
                               {"fields": {"since": ["must be earlier than until"]}})
    if until - since > timedelta(days=MAX_RANGE_DAYS):
        raise ValidationFailed(f"The range may cover at most {MAX_RANGE_DAYS} days",
                               {"fields": {"since": [f"at most {MAX_RANGE_DAYS} days before until"]}})
    viewer = Identity(user=who.user.lower(), groups=list(who.groups), is_admin=who.is_admin)
    return request_analytics(RequestFacts(services().redis), since, until, args["group_by"], viewer,
                             query=args.get("query"), now=now)
