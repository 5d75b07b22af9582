"""Webhook triggers: ``POST /hooks/{query}`` starts a run of the query from another system.

Authenticated by the query's webhook token (``Authorization: Bearer <token>`` or in the URL as
``/hooks/{query}/{token}`` for senders that cannot set headers), optionally signed the Standard Webhooks
way, rate limited per token. The body is the run's input. The answer is 202 with the run, or, for a sync
query or a definition with a ``respond`` step, that answer (waiting up to the query's limit, then 202).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from plugin import finite_json
from plugin.api.http import abuse_limits, rate_limits
from plugin.api.queries import triggering
from plugin.api.runs import paths
from plugin.api.runs.schemas import RunStartedSchema
from plugin.api.services import per_app, services
from plugin.api.triggers.webhook_signatures import verify_signature
from plugin.errors import BadRequest, NotFound, Unauthorized, ValidationFailed
from plugin.store.admin.keys import hash_key
from plugin.store.webhooks import StoredAnswer, Webhook, WebhookStore
from plugin.workspace.loader import DEFAULT_SYNC_WAIT, Query

bp = Blueprint("hooks", __name__, url_prefix="/hooks", description="Webhook triggers (the query's webhook token)")

RUN_ID_HEADER = "X-Workflows-Run-Id"
REPLAYED_HEADER = "Webhook-Replayed"
ID_HEADER = "webhook-id"

TOKEN_SCHEME = "webhookToken"
TOKEN_SCHEME_DOC = {"type": "http", "scheme": "bearer", "description": "The query's webhook token (made by "
                    "POST /api/v1/queries/{name}/webhook), or a webhook-scoped API key for that query."}


def document_security(api: Any) -> None:
    """Declare the webhook token's security scheme in the app's OpenAPI document."""
    api.spec.components.security_scheme(TOKEN_SCHEME, TOKEN_SCHEME_DOC)


_BODY_DOC = {"requestBody": {"required": False, "description": "The run's input, a JSON object (validated "
                             "against the query's input schema)",
                             "content": {"application/json": {"schema": {"type": "object"}}}}}


def webhook_store() -> WebhookStore:
    """The app's webhook store."""
    return per_app("webhooks", WebhookStore)


def _hooked_query(name: str) -> tuple[Query, Webhook]:
    query = services().workspace.queries.get(name)
    hook = webhook_store().get(name) if query is not None else None
    if query is None or hook is None:
        raise NotFound(f"No webhook for {name!r}: an admin enables it with POST /api/v1/queries/{name}/webhook")
    return query, hook


def _authenticate(hook: Webhook, url_token: str | None) -> str:
    """Check the token (URL or Bearer); returns what the rate limit counts by."""
    presented = url_token
    if presented is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send the webhook token as 'Authorization: Bearer <token>' or in the URL "
                               f"(/hooks/{hook.query}/<token>)")
        presented = token.strip()
    if hook.token_matches(presented):
        return hook.token_hash
    key = services().keys.lookup(presented)  # a webhook-scoped API key for this very query also works
    if key is not None and key.scope == "webhook" and key.query == hook.query:
        return hash_key(presented)
    raise Unauthorized("The webhook token is not valid (it may have been regenerated or revoked)")


def _input(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = finite_json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed("Invalid input: the body must be a JSON object (the run's input)",
                               {"fields": {"_body": ["Must be a JSON object."]}})
    return data


def _wait_seconds(query: Query) -> int:
    if query.mode == "sync":
        return query.wait_seconds
    return query.wait_seconds or (DEFAULT_SYNC_WAIT if triggering.has_respond_step(query) else 0)


def _answer(status: int, body: Any, run_id: str | None, replayed: bool = False) -> Response:
    response = jsonify(body)
    response.status_code = status
    if run_id:
        response.headers[RUN_ID_HEADER] = run_id
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def _trigger(name: str, url_token: str | None) -> Response:
    query, hook = _hooked_query(name)
    target = f"hook:{name}"
    abuse_limits.refuse_blocked_address(target)  # an address guessing tokens (or keys) waits, on every query
    try:
        counted_by = _authenticate(hook, url_token)
    except Unauthorized:
        abuse_limits.count_failed_auth(target)
        raise
    rate_limits.hit(hook.rate_limit, "hook", f"{name}:{counted_by}",
                    f"Too many calls to the {name!r} webhook (limit {hook.rate_limit})")
    raw = request.get_data(cache=True)
    if hook.signing_secret:
        verify_signature(hook.signing_secret, raw, request.headers)
    webhook_id = request.headers.get(ID_HEADER, "").strip() or None
    if webhook_id and len(webhook_id) > 255:
        raise BadRequest("webhook-id must be at most 255 characters", {"header": ID_HEADER})
    if webhook_id and (kept := webhook_store().answer_for(name, webhook_id)) is not None:
        return _answer(kept.status, kept.body, kept.run_id, replayed=True)
    data = triggering.validated_input(query, _input(raw), prefix="")
    business_id = triggering.business_key(query, data) if query.run_id_template else None
    if business_id:
        run_id = business_id
    elif webhook_id:  # a sender's retry lands on the same run, even while the first call is in flight
        run_id = f"{name}-hook-{hash_key(name + chr(0) + webhook_id)[:32]}"
    else:
        run_id = f"{name}-{uuid.uuid4().hex}"
    memo = {"origin": {"via": "webhook", "ip": request.remote_addr, **({"webhook_id": webhook_id}
                                                                        if webhook_id else {})}}
    result = triggering.start(query, data, run_id, f"webhook:{name}", memo=memo,
                              unique_id=business_id is None and webhook_id is not None)
    status_url = paths.status_url(run_id)
    status, body = 202, {"run_id": run_id, "query": name, "status": "running", "existing": not result.started,
                         "status_url": status_url}
    wait = _wait_seconds(query)
    if wait:
        outcome = triggering.outcome_within(query, run_id, wait, status_url, respond_first=True)
        if outcome is not None:
            status, body = triggering.answer_status(outcome), outcome.output
    if webhook_id:
        webhook_store().keep_answer(name, webhook_id, StoredAnswer(status=status, body=body, run_id=run_id))
    return _answer(status, body, run_id)


_RESPONSES = {
    202: "Started: the run id and its status URL (also when a sync answer did not come within the wait)",
    200: "A sync query's output, or a respond step's body (with its status code, which may be another 2xx)",
    400: "Body not JSON, or a bad webhook-id", 401: "Missing or wrong token; bad, missing or stale signature",
    404: "No such query, or its webhook is not enabled", 413: "Body over the configured limit",
    422: "Invalid input (each bad field named), or the run failed within the wait (code run_failed)",
    429: "Over the webhook's rate limit (Retry-After says when to try again)",
    503: "Temporal or Redis unavailable",
}


def _document(view):
    view = bp.doc(**_BODY_DOC)(view)
    view = bp.response(202, RunStartedSchema, description=_RESPONSES[202])(view)
    for code, text in _RESPONSES.items():
        if code != 202:
            view = bp.alt_response(code, description=text)(view)
    return view


@bp.route("/<name>", methods=["POST"])
@bp.doc(security=[{TOKEN_SCHEME: []}])
@_document
def trigger_hook(name: str):
    """Webhook trigger: start a run of the query, authenticated by its webhook token (Bearer)."""
    return _trigger(name, None)


@bp.route("/<name>/<token>", methods=["POST"])
@bp.doc(security=[])
@_document
def trigger_hook_with_token(name: str, token: str):
    """Webhook trigger with the token in the URL, for senders that cannot set headers."""
    return _trigger(name, token)
