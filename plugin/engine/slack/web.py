"""Calls to Slack's Web API through slack_sdk's ``WebClient`` (its base URL configurable: a stand-in in tests),
and what a failed call means: Slack down or rate limiting (try again later), or Slack refusing (say why).

``slack_sdk`` (3 MB of a process) is imported at the first call, so a worker without Slack never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from plugin.store.slack import SlackStore

# Slack's error codes that another try will not fix, in words an admin can act on.
REFUSALS = {
    "invalid_auth": "the bot token is not valid: copy the Bot User OAuth Token again",
    "not_authed": "no bot token was sent: set the bot token",
    "account_inactive": "the bot token belongs to a deleted app or user",
    "token_revoked": "the bot token was revoked: reinstall the app and copy the new token",
    "missing_scope": "the app lacks a scope it needs (chat:write, users:read, users:read.email, im:write)",
    "channel_not_found": "the channel does not exist, or the app cannot see it",
    "not_in_channel": "the app is not a member of the channel: invite it (/invite @your-app)",
    "is_archived": "the channel is archived",
    "users_not_found": "no Slack user has this email address",
    "user_not_found": "no such Slack user",
    "message_not_found": "the message is gone (deleted in Slack)",
    "cant_update_message": "the message cannot be edited by this app",
    "invalid_blocks": "Slack refused the message's blocks",
    "expired_trigger_id": "the modal opened too late (Slack allows 3 seconds)",
}
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackUnavailable(Exception):
    """Slack could not be reached, failed, or asks to slow down; ``retry_after`` in seconds when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SlackRefused(Exception):
    """Slack answered with an error that trying again will not fix; ``code`` is Slack's error code."""

    def __init__(self, code: str, method: str) -> None:
        why = REFUSALS.get(code, f"see Slack's documentation of {method}")
        super().__init__(f"Slack refused {method}: {code} ({why})")
        self.code = code
        self.method = method


def web_client(token: str, api_url: str, timeout: int = 10) -> WebClient:
    """A client of Slack's Web API at ``api_url`` (``https://slack.com/api/`` or a stand-in)."""
    from slack_sdk import WebClient

    return WebClient(token=token, base_url=api_url if api_url.endswith("/") else api_url + "/", timeout=timeout,
                     retry_handlers=[])  # retries are the activity's (Temporal's backoff), not hidden in here


def call(client: WebClient, method: str, **params: Any) -> dict[str, Any]:
    """Call a Web API method (``chat.postMessage``) through the SDK's own method, which sends it the way Slack
    documents for it (JSON for chat.* and views.*, form fields for users.*); its answer, or SlackRefused /
    SlackUnavailable."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        return dict(getattr(client, method.replace(".", "_"))(**params).data)
    except SlackApiError as exc:
        response = exc.response
        code = (response.data or {}).get("error", "") if isinstance(response.data, dict) else ""
        if response.status_code == 429 or code in TRANSIENT or response.status_code >= 500:
            after = response.headers.get("Retry-After") or response.headers.get("retry-after")
            raise SlackUnavailable(f"Slack {method}: {code or response.status_code}",
                                   float(after) if after and str(after).isdigit() else None) from None
        raise SlackRefused(code or f"HTTP {response.status_code}", method) from None
    except (SlackClientError, OSError, ValueError) as exc:
        raise SlackUnavailable(f"Slack cannot be reached ({type(exc).__name__}): {exc}") from None


def dm_channel(client: WebClient, store: SlackStore, email: str) -> str:
    """The app's DM channel with the person who has this email (users.lookupByEmail, cached both ways)."""
    user_id = store.user_for_email(email)
    if user_id is None:
        user = call(client, "users.lookupByEmail", email=email)["user"]
        user_id = user["id"]
        store.remember_person(user.get("team_id", ""), user_id, email)
    return call(client, "conversations.open", users=user_id)["channel"]["id"]
