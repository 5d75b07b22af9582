"""Connecting a Slack app (admin): its bot token and signing secret, write-only (kept with the other secrets:
Redis, encrypted; an environment variable wins), the Web API address, and "send a test message"."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from plugin.api.admin.connections import secret_store
from plugin.api.http.auth import actor_name, authenticate
from plugin.api.schemas import StrictSchema
from plugin.api.services import services
from plugin.api.slack.people import deliver_test, slack_client
from plugin.errors import Conflict
from plugin.secrets import ENV_PREFIX, MAX_SECRET_CHARS
from plugin.store.admin.settings_audit import SettingsAudit
from plugin.store.slack import BOT_TOKEN_SECRET, SIGNING_SECRET, SlackStore

bp = Blueprint("slack", __name__, url_prefix="/api/v1/slack",
               description="The Slack app that posts requests and takes decisions (docs/slack.md); admin")

SECRETS = {"bot_token": BOT_TOKEN_SECRET, "signing_secret": SIGNING_SECRET}


class SlackBody(StrictSchema):
    bot_token = fields.String(load_only=True,
                              validate=[validate.Length(1, MAX_SECRET_CHARS),
                                        validate.Regexp(r"^xoxb-", error="A bot token starts with xoxb-.")],
                              metadata={"description": "the Bot User OAuth Token (xoxb-...); never shown again"})
    signing_secret = fields.String(load_only=True, validate=validate.Length(8, MAX_SECRET_CHARS),
                                   metadata={"description": "the app's Signing Secret; never shown again"})
    api_url = fields.Url(require_tld=False, schemes={"http", "https"}, validate=validate.Length(max=500),
                         metadata={"description": "Slack's Web API (default https://slack.com/api/)"})


class SlackSecretStateSchema(Schema):
    set = fields.Boolean()
    source = fields.String(allow_none=True, metadata={"description": "env or redis; null when not set"})


class SlackSchema(Schema):
    connected = fields.Boolean(metadata={"description": "a bot token and a signing secret are both set"})
    bot_token = fields.Nested(SlackSecretStateSchema)
    signing_secret = fields.Nested(SlackSecretStateSchema)
    api_url = fields.String()
    interactions_url = fields.String(metadata={"description": "the Request URL to give Slack (Interactivity)"})


class SlackTestBody(StrictSchema):
    to = fields.String(required=True, validate=validate.Length(1, 200),
                       metadata={"description": "an email (a DM to that person), a channel ID or a #channel"})


class SlackTestAnswerSchema(Schema):
    ok = fields.Boolean()
    channel = fields.String()
    ts = fields.String()
    message = fields.String()


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _state() -> dict[str, Any]:
    store = secret_store()
    found = {name: store.source(secret) for name, secret in SECRETS.items()}
    return {"connected": all(found.values()), "api_url": SlackStore(services().redis).config()["api_url"],
            "interactions_url": f"{services().settings.public_base_url.rstrip('/')}/hooks/slack/interactions",
            **{name: {"set": source is not None, "source": source} for name, source in found.items()}}


@bp.route("")
@bp.response(200, SlackSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
def get_slack():
    """Whether a Slack app is connected (which secrets are set, never their values) and the Request URL."""
    return _state()


@bp.route("", methods=["PUT"])
@bp.arguments(SlackBody)
@bp.response(200, SlackSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(409, description="Set by an environment variable, which wins; or no WORKFLOWS_SECRETS_ENCRYPTION_KEY")
@bp.alt_response(422, description="A value that cannot be right (a bot token not starting with xoxb-...)")
def put_slack(body: dict):
    """Connect (or change) the Slack app: the values given are stored, the others kept."""
    store = secret_store()
    for name, secret in SECRETS.items():
        if name in body and store.source(secret) == "env":
            raise Conflict(f"The {name.replace('_', ' ')} is set by the environment variable {ENV_PREFIX}{secret}; "
                           "change it there", {"secret": secret})
    for name, secret in SECRETS.items():
        if name in body:
            store.put(secret, body[name])
    if "api_url" in body:
        SlackStore(services().redis).set_config(api_url=body["api_url"])
    SettingsAudit(services().redis).record(actor_name(), "slack_connected", "slack",
                                           {k: ("(set)" if k in SECRETS else v) for k, v in body.items()})
    return _state()


@bp.route("", methods=["DELETE"])
@bp.response(200, SlackSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
def delete_slack():
    """Disconnect: forget the secrets set here and the settings (requests are no longer sent to Slack)."""
    store = secret_store()
    for secret in SECRETS.values():
        if store.source(secret) != "env":
            store.delete(secret)
    SlackStore(services().redis).clear_config()
    SettingsAudit(services().redis).record(actor_name(), "slack_disconnected", "slack")
    return _state()


@bp.route("/test", methods=["POST"])
@bp.arguments(SlackTestBody)
@bp.response(200, SlackTestAnswerSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(403, description="Not an admin key")
@bp.alt_response(409, description="No Slack app connected (no bot token)")
@bp.alt_response(422, description="Slack refused the message; the message says why (details.slack_error)")
@bp.alt_response(503, description="Slack cannot be reached or is failing")
def test_message(body: dict):
    """Send a test message as the app: a DM to an email's owner, or a post in a channel."""
    answer = deliver_test(slack_client(), body["to"].strip())
    return {"ok": True, "channel": answer["channel"], "ts": answer["ts"],
            "message": f"Sent: look for the test message in {body['to'].strip()}"}
