"""The API's calls to Slack: the app's client, who a Slack user is (users.info, cached), the test message, and
ephemeral answers to the person who clicked. Slack's refusals become the plugin's errors (422 naming Slack's
code, 503 when Slack cannot be reached), never a 500."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from slack_sdk import WebClient

from plugin.api.admin.connections import secret_store
from plugin.api.services import services
from plugin.engine.slack.web import SlackRefused, SlackUnavailable, call, dm_channel, web_client
from plugin.errors import Conflict, ServiceUnavailable, ValidationFailed
from plugin.secrets import MissingSecret
from plugin.store.slack import BOT_TOKEN_SECRET, SlackStore

log = logging.getLogger(__name__)

TEST_TEXT = (":white_check_mark: Test message from Workflows: Slack approvals are connected. Requests routed to "
             "Slack will arrive like this, with a button per resolution.")
SLACK_HOOK_HOSTS = {"hooks.slack.com"}


def slack_store() -> SlackStore:
    """The Slack state in this app's Redis."""
    return SlackStore(services().redis)


def slack_client() -> WebClient:
    """The connected app's client; 409 when no bot token is set."""
    try:
        token = secret_store().get(BOT_TOKEN_SECRET)
    except MissingSecret:
        raise Conflict("No Slack app is connected: set its bot token on the settings page (Slack) first",
                       {"secret": BOT_TOKEN_SECRET}) from None
    return web_client(token, slack_store().config()["api_url"])


def slack_call(client: WebClient, method: str, **params: Any) -> dict[str, Any]:
    """A Web API call whose failures are the plugin's errors: 422 when Slack refuses, 503 when it is away."""
    try:
        return call(client, method, **params)
    except SlackRefused as exc:
        raise ValidationFailed(str(exc), {"fields": {}, "slack_error": exc.code}) from None
    except SlackUnavailable as exc:
        raise ServiceUnavailable(f"Slack cannot be reached or is failing ({exc}); try again in a moment",
                                 {"service": "slack"}) from None


def deliver_test(client: WebClient, to: str) -> dict[str, Any]:
    """Post the test message: a DM when ``to`` is an email, else in the channel it names."""
    try:
        channel = dm_channel(client, slack_store(), to) if "@" in to else to
    except SlackRefused as exc:
        raise ValidationFailed(str(exc), {"fields": {"to": [str(exc)]}, "slack_error": exc.code}) from None
    except SlackUnavailable as exc:
        raise ServiceUnavailable(f"Slack cannot be reached or is failing ({exc}); try again in a moment",
                                 {"service": "slack"}) from None
    return slack_call(client, "chat.postMessage", channel=channel, text=TEST_TEXT)


def email_of(client: WebClient, team: str, user_id: str) -> str | None:
    """The email of a Slack user (users.info, cached a day); None when Slack knows no such user or no email."""
    store = slack_store()
    cached = store.email_for_user(team, user_id)
    if cached:
        return cached
    try:
        user = call(client, "users.info", user=user_id)["user"]
    except SlackRefused as exc:
        if exc.code in ("user_not_found", "users_not_found"):
            return None
        raise
    email = ((user.get("profile") or {}).get("email") or "").strip().lower()
    if not email or user.get("deleted") or user.get("is_bot"):
        return None
    store.remember_person(team or user.get("team_id", ""), user_id, email)
    return email


def tell(client: WebClient, where: dict[str, str], text: str) -> None:
    """An ephemeral message to the person who acted (only they see it): through the interaction's
    ``response_url`` when Slack gave one, else chat.postEphemeral in the message's channel. Best effort."""
    try:
        url = where.get("response_url") or ""
        if url and _trusted(url):
            requests.post(url, json={"response_type": "ephemeral", "replace_original": False, "text": text},
                          timeout=5, allow_redirects=False).raise_for_status()
        elif where.get("channel") and where.get("user"):
            call(client, "chat.postEphemeral", channel=where["channel"], user=where["user"], text=text)
    except (requests.RequestException, SlackRefused, SlackUnavailable) as exc:
        log.warning("could not tell Slack user %s: %s", where.get("user"), exc)


def _trusted(url: str) -> bool:
    """A response_url on Slack's own host (or the configured Web API's host, e.g. a stand-in): never anywhere a
    payload could point a POST."""
    parts = urlsplit(url)
    api = urlsplit(slack_store().config()["api_url"])
    return parts.scheme in ("https", "http") and (parts.hostname in SLACK_HOOK_HOSTS or parts.netloc == api.netloc)
