"""``POST /hooks/slack/interactions``: Slack's Interactivity Request URL. Every payload must carry Slack's
signature (v0 HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the app's signing secret, at most 5 minutes old,
checked by slack_sdk's ``SignatureVerifier``) and is taken once (a replayed signature is refused): 401 in the
one error shape otherwise.

A button of a request without a form is decided at once, in a thread (plugin/api/slack/decide.py), and Slack
gets its answer straight away (it waits 3 seconds at most); a request with form fields opens a modal
(views.open with the click's trigger_id), whose submission is checked here (errors shown in the modal) and
then decided the same way.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from flask import jsonify, request
from flask_smorest import Blueprint
from slack_sdk.signature import SignatureVerifier

from plugin.api.admin.connections import secret_store
from plugin.api.services import services
from plugin.api.slack.decide import SlackChoice, decide_later
from plugin.api.slack.people import slack_call, slack_client, slack_store, tell
from plugin.engine.request_options import form_errors
from plugin.engine.slack.blocks import (
    DECIDE_ACTION,
    FIELD_BLOCK,
    MODAL_CALLBACK,
    decision_modal,
    modal_values,
    needs_modal,
)
from plugin.errors import BadRequest, PluginError, Unauthorized
from plugin.models import PENDING, request_from_doc
from plugin.secrets import MissingSecret
from plugin.store.slack import SIGNING_SECRET

bp = Blueprint("slack_hooks", __name__, url_prefix="/hooks/slack",
               description="Slack's Interactivity Request URL (signed by Slack; docs/slack.md)")
SIGNATURE = "X-Slack-Signature"
TIMESTAMP = "X-Slack-Request-Timestamp"


def _verified_payload() -> dict[str, Any]:
    """The interaction's payload, once its signature, age and novelty are checked."""
    body = request.get_data(cache=True)
    try:
        secret = secret_store().get(SIGNING_SECRET)
    except MissingSecret:
        raise Unauthorized("Slack interactions are not set up here: an admin sets the app's signing secret on the "
                           "settings page (Slack)", {"reason": "not_configured", "header": SIGNATURE}) from None
    timestamp, signature = request.headers.get(TIMESTAMP), request.headers.get(SIGNATURE)
    try:
        valid = SignatureVerifier(secret).is_valid(body, timestamp, signature)
    except ValueError:  # a timestamp that is not a number
        valid = False
    if not valid:
        raise Unauthorized("The Slack signature is missing, does not match, or is more than 5 minutes old",
                           {"reason": "bad_signature", "header": SIGNATURE})
    if not slack_store().first_use(signature or ""):
        raise Unauthorized("This Slack payload was already received once (a replay)",
                           {"reason": "replayed", "header": SIGNATURE})
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
    except (KeyError, IndexError, ValueError, UnicodeDecodeError):
        raise BadRequest("The body must be Slack's form with a JSON 'payload' field") from None
    if not isinstance(payload, dict):
        raise BadRequest("The body must be Slack's form with a JSON 'payload' field")
    return payload


@bp.route("/interactions", methods=["POST"])
@bp.doc(security=[], requestBody={"content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["payload"], "properties": {"payload": {
        "type": "string", "description": "Slack's interaction payload (block_actions, view_submission), JSON"}}}}}})
@bp.alt_response(200, description="Taken: empty, or a modal's response_action (errors in the modal)")
@bp.alt_response(400, description="Not Slack's payload form")
@bp.alt_response(401, description="No, a wrong or a stale Slack signature, or a replayed payload")
def interactions():
    """A click on a request's button, or a submitted decision modal, from Slack."""
    payload = _verified_payload()
    kind = payload.get("type")
    if kind == "block_actions":
        _on_click(payload)
    elif kind == "view_submission" and (payload.get("view") or {}).get("callback_id") == MODAL_CALLBACK:
        errors = _on_submit(payload)
        if errors:
            return jsonify({"response_action": "errors", "errors": errors})
    return "", 200


def _person(payload: dict[str, Any]) -> tuple[str, str]:
    user = payload.get("user") or {}
    team = (payload.get("team") or {}).get("id") or user.get("team_id") or ""
    if not user.get("id"):
        raise BadRequest("The Slack payload names no user")
    return str(team), str(user["id"])


def _on_click(payload: dict[str, Any]) -> None:
    action = next((a for a in payload.get("actions") or [] if str(a.get("action_id", "")).startswith(DECIDE_ACTION)),
                  None)
    if action is None:
        return  # "Open in app" (a link) and anything else: nothing to do
    team, user = _person(payload)
    try:
        chosen = json.loads(action.get("value") or "")
        request_id, index = str(chosen["request_id"]), int(chosen["resolution"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("The button's value is not one of ours") from None
    container = payload.get("container") or {}
    where = {"channel": str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or ""),
             "ts": str(container.get("message_ts") or ""), "response_url": str(payload.get("response_url") or "")}
    doc = services().inbox.get(request_id)
    client = slack_client()
    if doc is None or not 0 <= index < len(doc["resolutions"]):
        tell(client, {**where, "user": user}, ":warning: This request is gone; open the app to see your requests")
        return
    if needs_modal(doc) and doc["status"] == PENDING:  # the trigger_id lives 3 seconds: open it now
        try:
            slack_call(client, "views.open", trigger_id=str(payload.get("trigger_id") or ""),
                       view=decision_modal(doc, index, {"channel": where["channel"], "ts": where["ts"]}))
        except PluginError as exc:  # e.g. the trigger expired: say so to the person, Slack itself needs no error
            tell(client, {**where, "user": user}, f":warning: The form could not be opened ({exc.message}); try again")
        return
    decide_later(SlackChoice(team, user, request_id, doc["resolutions"][index], where))


def _on_submit(payload: dict[str, Any]) -> dict[str, str]:
    """Errors to show in the modal (block id -> message), or {} when the decision is on its way."""
    view = payload.get("view") or {}
    team, user = _person(payload)
    try:
        meta = json.loads(view.get("private_metadata") or "")
        request_id, index = str(meta["request_id"]), int(meta["resolution"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("The modal's metadata is not ours") from None
    doc = services().inbox.get(request_id)
    if doc is None or not 0 <= index < len(doc["resolutions"]):
        raise BadRequest("The modal's request is unknown")
    values, comment = modal_values(doc, view.get("state") or {})
    found = form_errors(request_from_doc(doc).form, values)
    if found:
        return {FIELD_BLOCK + name.removeprefix("payload."): " ".join(messages) for name, messages in found.items()}
    where = {"channel": str(meta.get("channel") or ""), "ts": str(meta.get("ts") or "")}
    decide_later(SlackChoice(team, user, request_id, doc["resolutions"][index], where, comment, values))
    return {}
