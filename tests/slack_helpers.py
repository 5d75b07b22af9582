"""Helpers of the Slack approval tests: a worker and an API for the Slack test workspace (its own task queue),
connected to the Slack stand-in, and interaction payloads signed and shaped as Slack sends them
(api.slack.com/reference/interaction-payloads)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from plugin.config import Settings
from tests.conftest import ADMIN_KEY, WorkerThread, auth, serve_app
from tests.slack_stub import SlackStub
from tests.test_expense_flow import wait_for

SLACK_WORKSPACE = Path(__file__).parent / "slack_workspace"
BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def slack_settings(settings: Settings) -> Settings:
    """The session's settings plus the Slack workspace, on a task queue of their own."""
    return dataclasses.replace(settings, workspaces=(*settings.workspaces, SLACK_WORKSPACE),
                               task_queue=f"slack-{uuid.uuid4().hex[:8]}")


def serve_slack(settings: Settings, stub: SlackStub) -> Iterator[Any]:
    """A worker and an app for the Slack workspace, the app connected to the stand-in (``yield from`` it)."""
    worker = WorkerThread(settings)
    worker.start()
    for app in serve_app(settings):
        client = app.test_client()
        answer = client.put("/api/v1/slack", headers=auth(ADMIN_KEY),
                            json={"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "api_url": stub.url})
        assert answer.status_code == 200, answer.json
        yield app
        client.delete("/api/v1/slack", headers=auth(ADMIN_KEY))
    worker.stop()


def signed(body: str, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    """Slack's signature headers for a body (v0 HMAC-SHA256 of ``v0:{timestamp}:{body}``)."""
    stamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def form_body(payload: dict[str, Any]) -> str:
    """The body Slack posts: a form with one ``payload`` field holding JSON."""
    return urlencode({"payload": json.dumps(payload)})


def post_interaction(client, payload: dict[str, Any], **signing: Any):
    """POST a signed interaction payload."""
    body = form_body(payload)
    return client.post("/hooks/slack/interactions", data=body, headers=signed(body, **signing))


def posted_to(stub: SlackStub, channel: str, name: str) -> dict[str, Any]:
    """Wait for the message of request ``name`` in ``channel``; (its ts and blocks)."""
    def found():
        for (where, ts), message in list(stub.messages.items()):
            if where == channel and not message.get("thread_ts") and name in message["text"]:
                return {"channel": where, "ts": ts, **message}
        return None
    return wait_for(found, timeout=30)


def message_now(stub: SlackStub, message: dict[str, Any]) -> dict[str, Any]:
    """The message as it is now in the stand-in (after chat.update)."""
    return stub.messages[(message["channel"], message["ts"])]


def button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The button with this text in a message's blocks."""
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == label:
                return {**element, "block_id": block.get("block_id")}
    raise AssertionError(f"no button {label!r} in {json.dumps(message['blocks'])[:400]}")


def click(stub: SlackStub, user_id: str, message: dict[str, Any], label: str, n: int = 0) -> dict[str, Any]:
    """A ``block_actions`` payload: this Slack user pressed the button ``label`` on the message."""
    pressed = button(message, label)
    user = stub.people.get(user_id, {"id": user_id, "name": "ghost", "team_id": stub.team})
    return {
        "type": "block_actions", "api_app_id": "A0TEST", "token": "legacy-verification-token",
        "user": {"id": user_id, "username": user["name"], "name": user["name"], "team_id": stub.team},
        "team": {"id": stub.team, "domain": "test"}, "enterprise": None, "is_enterprise_install": False,
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"],
                      "is_ephemeral": False},
        "channel": {"id": message["channel"], "name": "approvals"},
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
        "message": {"type": "message", "ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
        "state": {"values": {}}, "response_url": stub.response_url(n),
        "actions": [{"type": "button", "action_id": pressed["action_id"], "block_id": pressed["block_id"],
                     "text": pressed["text"], "value": pressed.get("value", ""), "action_ts": f"{time.time():.6f}"}],
    }


def submission(stub: SlackStub, user_id: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A ``view_submission`` payload of the modal ``view`` (as views.open got it), ``values`` by block id."""
    return {
        "type": "view_submission", "team": {"id": stub.team, "domain": "test"},
        "user": {"id": user_id, "username": "u", "name": "u", "team_id": stub.team}, "api_app_id": "A0TEST",
        "token": "legacy-verification-token", "trigger_id": f"{int(time.time())}.1.abc",
        "view": {**view, "id": "V0TEST", "team_id": stub.team, "state": {"values": values},
                 "hash": "156772938.1827394"},
        "response_urls": [],
    }


def ephemerals(stub: SlackStub, n: int) -> list[str]:
    """The texts posted to response_url number ``n``."""
    return [r.get("text", "") for r in list(stub.responses) if r["_n"] == n]


def start(client, requester: str, *requests: dict) -> str:
    """Start the Slack probe with these requests (Approve / Reject unless said); its run id."""
    body = {"input": {"requests": [{"resolutions": ["Approve", "Reject"], **r} for r in requests]}}
    answer = client.post("/api/v1/queries/slack_probe/runs", headers=auth(user=requester), json=body)
    assert answer.status_code == 202, answer.json
    return answer.json["run_id"]


def dm_of(stub: SlackStub, email: str) -> str:
    """The DM channel of the app with the Slack user of this email."""
    return "D" + next(uid for uid, u in stub.people.items() if u["profile"].get("email") == email)


@pytest.fixture(scope="module")
def stub() -> Iterator[SlackStub]:
    """The Slack stand-in, for a test module."""
    slack = SlackStub().start()
    yield slack
    slack.stop()


@pytest.fixture(scope="module")
def app(settings: Settings, stub: SlackStub) -> Iterator[Any]:
    """The API (and a worker) of the Slack workspace, connected to the stand-in; conftest's ``client`` uses it."""
    yield from serve_slack(slack_settings(settings), stub)
