"""The activity that makes Slack show a request as it is now: posts its message to each target that has none
yet (a DM to each assigned user, the channel of each assigned group), edits the others in place
(``chat.update``: decided, reassigned, escalated, expired, withdrawn) and replies in the thread on a reminder.

Idempotent: it reads the request's newest version from the inbox and what was posted from Redis
(plugin/store/slack.py), so a retry or a late run only finishes what is missing. Slack down or rate limiting
raises a retryable error (Temporal's backoff, Slack's Retry-After as the next delay); Slack refusing one
target (no such user, channel not found) is recorded on that target and the others go on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from temporalio import activity
from temporalio.exceptions import ApplicationError

from plugin.engine.slack.blocks import escape, request_message
from plugin.engine.slack.routing import delivery_for
from plugin.engine.slack.web import SlackRefused, SlackUnavailable, call, dm_channel, web_client
from plugin.models import PENDING
from plugin.secrets import MissingSecret, SecretStore
from plugin.store.inbox import Inbox
from plugin.store.slack import BOT_TOKEN_SECRET, SlackStore

log = logging.getLogger(__name__)

SYNC_ACTIVITY = "slack_sync_request"
METADATA_EVENT = "workflows_request"  # the metadata of each first message: which request, to which target
AUTH_CODES = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "missing_scope"}


@dataclass
class SlackSyncInput:
    """Bring the Slack messages of one request up to (at least) ``version``."""

    request_id: str
    version: int = 0


def open_url(routing: dict[str, Any], public_url: str, doc: dict[str, Any]) -> str:
    """Where "Open in app" goes: the workspace's host page, else the plugin's standalone inbox."""
    template = routing.get("open_url") or ""
    if template:
        return template.replace("{request_id}", quote(doc["id"], safe="")).replace(
            "{run_id}", quote(doc["run_id"], safe=""))
    return f"{public_url.rstrip('/')}/ui/inbox/?request={quote(doc['id'], safe='')}"


def _unconfirmed(record: dict[str, Any]) -> bool:
    """A first message whose post began but whose ``ts`` was never recorded (the worker died in between)."""
    return "posting" in record and "ts" not in record and "error" not in record


def targets_of(doc: dict[str, Any], delivery: str, channels: dict[str, str]) -> dict[str, str]:
    """Target -> where it goes: ``user:{email}`` -> email (DM), ``group:{name}`` -> its channel."""
    found: dict[str, str] = {}
    if delivery in ("assignees", "dm"):
        found.update({f"user:{u.lower()}": u.lower() for u in doc.get("users", [])})
    if delivery in ("assignees", "channel"):
        found.update({f"group:{g}": channels[g] for g in doc.get("groups", []) if g in channels})
    return found


class SlackActivities:
    """Slack messages of requests; built by the worker with the workspace's routing (plugin/workspace/slack.py)."""

    def __init__(self, inbox: Inbox, store: SlackStore, secrets: SecretStore, routing: dict[str, Any],
                 public_url: str) -> None:
        self._inbox = inbox
        self._store = store
        self._secrets = secrets
        self._routing = routing
        self._public_url = public_url

    @activity.defn(name=SYNC_ACTIVITY)
    def sync_request(self, inp: SlackSyncInput) -> dict[str, Any]:
        """Post, edit or remind, until Slack shows the request's newest version; a summary of what it did."""
        doc = self._inbox.get(inp.request_id)
        delivery = delivery_for(self._routing, doc["query"], doc["name"]) if doc else "off"
        if doc is None or delivery == "off":
            return {"skipped": "not sent to Slack"}
        try:
            token = self._secrets.get(BOT_TOKEN_SECRET)
        except MissingSecret:
            log.warning("request %s is routed to Slack, but no Slack app is connected", doc["id"])
            return {"skipped": "no Slack app connected"}
        client = web_client(token, self._store.config()["api_url"])
        wanted = targets_of(doc, delivery, self._routing.get("channels", {}))
        done: dict[str, str] = {}
        try:
            for target, record in self._store.messages(doc["id"]).items():
                if record.get("ts") and record.get("version", 0) < doc["version"]:
                    done[target] = self._edit(client, doc, target, record, target in wanted)
            records = self._store.messages(doc["id"])
            for target, where in wanted.items():
                record = records.get(target)
                if (record is None or _unconfirmed(record)) and doc["status"] == PENDING:
                    done[target] = self._post(client, doc, target, where, record)
        except SlackUnavailable as exc:  # Temporal tries again with backoff; what is done stays done
            delay = timedelta(seconds=min(exc.retry_after, 300)) if exc.retry_after else None
            raise ApplicationError(str(exc), type="SlackUnavailable", next_retry_delay=delay) from None
        except SlackRefused as exc:  # the app's token or scopes: nothing to gain by trying again
            if exc.code not in AUTH_CODES:
                raise
            log.warning("Slack refused the messages of %s: %s", doc["id"], exc)
            return {"refused": exc.code}
        return done

    def _message(self, doc: dict[str, Any], note: str = "") -> dict[str, Any]:
        text, blocks = request_message(doc, open_url(self._routing, self._public_url, doc), note)
        return {"text": text, "blocks": blocks}

    def _post(self, client: Any, doc: dict[str, Any], target: str, where: str,
              record: dict[str, Any] | None = None) -> str:
        """The first message of one target; a refusal (no such user or channel) is recorded on it.

        The post is recorded as begun before it is sent, and the message carries the request and the target in its
        metadata: when the worker died between Slack's answer and the record of its ``ts``, the retry finds the
        message in the channel's history instead of posting it again."""
        try:
            channel = dm_channel(client, self._store, where) if target.startswith("user:") else where
            if record is not None:
                found = self._find_posted(client, channel, doc["id"], target, float(record.get("posting", 0)))
                if found is not None:
                    self._store.save_message(doc["id"], target, {"channel": channel, "ts": found,
                                                                  "version": record.get("version", 0),
                                                                  "reminders": 0})
                    return "found posted"
            self._store.save_message(doc["id"], target, {"posting": time.time(), "version": doc["version"]})
            answer = call(client, "chat.postMessage", channel=channel, **self._message(doc),
                          metadata={"event_type": METADATA_EVENT,
                                    "event_payload": {"request_id": doc["id"], "target": target}})
        except SlackRefused as exc:
            if exc.code in AUTH_CODES:
                raise
            self._store.save_message(doc["id"], target, {"error": exc.code, "version": doc["version"]})
            log.warning("Slack message of %s to %s refused: %s", doc["id"], target, exc)
            return f"refused: {exc.code}"
        self._store.save_message(doc["id"], target, {"channel": answer["channel"], "ts": answer["ts"],
                                                      "version": doc["version"],
                                                      "reminders": doc.get("reminders_sent", 0)})
        return "posted"

    def _find_posted(self, client: Any, channel: str, request_id: str, target: str, since: float) -> str | None:
        """The ``ts`` of this request's message to ``target`` in the channel's history since a post began, or None
        (none there, or the app may not read the history: then it is posted again, as before this guard)."""
        try:
            history = call(client, "conversations.history", channel=channel, oldest=f"{max(0.0, since - 60):.6f}",
                           include_all_metadata=True, limit=200)
        except SlackRefused as exc:
            if exc.code in AUTH_CODES and exc.code != "missing_scope":
                raise
            log.warning("cannot read the history of %s to find the message of %s (%s): it may be posted twice",
                        channel, request_id, exc.code)
            return None
        for message in history.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("request_id") == request_id and payload.get("target") == target:
                return str(message["ts"])
        return None

    def _edit(self, client: Any, doc: dict[str, Any], target: str, record: dict[str, Any], assigned: bool) -> str:
        """Edit a posted message in place to the request's state; a reminder also replies in its thread."""
        note = ""
        if doc["status"] == PENDING and not assigned:
            now_with = ", ".join([*doc.get("users", []), *(f"group {g}" for g in doc.get("groups", []))])
            note = f":arrow_right: Reassigned to {escape(now_with)}: nothing for you to decide here any more"
        try:
            call(client, "chat.update", channel=record["channel"], ts=record["ts"], **self._message(doc, note))
            if doc["status"] == PENDING and assigned and doc.get("reminders_sent", 0) > record.get("reminders", 0):
                call(client, "chat.postMessage", channel=record["channel"], thread_ts=record["ts"],
                     text=f":bell: Reminder: *{escape(doc['name'])}* is still waiting for your decision")
        except SlackRefused as exc:
            if exc.code in AUTH_CODES:
                raise
            record = {**record, "error": exc.code}
        self._store.save_message(doc["id"], target, {**record, "version": doc["version"],
                                                      "reminders": doc.get("reminders_sent", 0)})
        return "edited" if "error" not in record else f"refused: {record['error']}"

    def all(self) -> list:
        """The activity callables, for the worker."""
        return [self.sync_request]
