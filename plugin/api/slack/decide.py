"""A Slack click or modal as a decision: the person is who Slack's signed payload says clicked, mapped to an
email with users.info; the decision goes through ``resolve_one``, the very path of the API's
Resolve request (assignee, quorum, self-approval, 409 when already decided), recorded with ``via: "slack"``
and the Slack team and user in ``issuer`` (so the audit shows the mapping).

Runs in a thread of its own after the interaction has been answered (Slack waits 3 seconds at most); what
the person must know (already decided, not an assignee, unknown to Slack) comes back as an ephemeral message.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from plugin.api.requests.views import resolve_one
from plugin.api.slack.people import email_of, slack_client, slack_store, tell
from plugin.engine.humans import readable_minute
from plugin.errors import Conflict, PluginError
from plugin.models import Identity, ResolveInput

log = logging.getLogger(__name__)


@dataclass
class SlackChoice:
    """What a person chose in Slack, and where (``where``: channel, ts, user, response_url)."""

    team: str
    slack_user: str
    request_id: str
    resolution: str
    where: dict[str, str]
    comment: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def groups_of_channel(request_id: str, channel: str) -> list[str]:
    """The groups whose request message is in this channel: Slack vouches that the person clicked there, and
    the workspace named that channel as the group's (docs/slack.md)."""
    records = slack_store().messages(request_id)
    return sorted(target.partition(":")[2] for target, record in records.items()
                  if target.startswith("group:") and record.get("channel") == channel)


def identity_of(choice: SlackChoice) -> Identity | None:
    """The person behind a Slack user, or None when Slack knows no email for them."""
    email = email_of(slack_client(), choice.team, choice.slack_user)
    if email is None:
        return None
    return Identity(user=email, groups=groups_of_channel(choice.request_id, choice.where.get("channel", "")),
                    via="slack", issuer=f"slack:{choice.team}/{choice.slack_user}")


def refusal_text(exc: PluginError) -> str:
    """A refused decision in a person's words (a lost race names who won and when)."""
    details = exc.details or {}
    if isinstance(exc, Conflict) and details.get("decided_by"):
        what = f"*{details['resolution']}*" if details.get("resolution") else str(details.get("status") or "")
        when = readable_minute(details["decided_at"])
        return f":information_source: Already decided: {what} by {details['decided_by']} at {when}"
    return f":warning: {exc.message}"


def decide(choice: SlackChoice) -> str | None:
    """Make the decision; None when it was taken, else what to tell the person."""
    try:
        who = identity_of(choice)
    except PluginError as exc:
        return refusal_text(exc)
    if who is None:
        return (":warning: Your Slack account could not be matched to a person in Workflows (Slack has no email "
                "for it). Decide in the app instead, or ask an admin.")
    update = ResolveInput(request_id=choice.request_id, resolution=choice.resolution, identity=who,
                          comment=choice.comment, payload=choice.payload)
    try:
        resolve_one(update)  # as the API decides: a delegate for an absent assignee, a repeat answered
    except PluginError as exc:
        return refusal_text(exc)
    return None


def decide_later(choice: SlackChoice) -> None:
    """Decide in a thread (the interaction is answered at once), telling the person when it was refused."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def work() -> None:
        with app.app_context():
            try:
                text = decide(choice)
            except Exception:  # a thread has nobody to answer: log, and tell the person it did not work
                log.exception("Slack decision on %s failed", choice.request_id)
                text = ":warning: Your decision could not be recorded just now; try again or decide in the app"
            if text:
                try:
                    tell(slack_client(), {**choice.where, "user": choice.slack_user}, text)
                except PluginError as exc:
                    log.warning("could not answer Slack user %s: %s", choice.slack_user, exc.message)

    threading.Thread(target=work, name="slack-decision", daemon=True).start()
