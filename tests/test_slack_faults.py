# ruff: noqa: F811  (the Slack fixtures are imported by name, then requested as arguments)
"""Slack approvals when things go wrong: forged, stale, unsigned and replayed payloads are refused with 401 in the
one error shape and decide nothing; Slack down or rate limiting is retried with backoff while the request stays
decidable in the app; Slack refusing one assignee (no such user) does not stop the others; the settings page's
connection and its test message say clearly when Slack refuses."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import redis
from temporalio.service import RPCError

from plugin.engine.slack import follower as follower_module
from plugin.engine.slack.follower import SlackFollower
from plugin.models import HumanRequest
from plugin.store.events import STREAM
from plugin.store.slack import SlackStore
from plugin.temporal_gateway import connect_client
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, pending_requests, person, run_detail
from tests.slack_helpers import (  # noqa: F401  app and stub are fixtures
    BOT_TOKEN,
    SIGNING_SECRET,
    app,
    click,
    dm_of,
    form_body,
    message_now,
    posted_to,
    signed,
    start,
    stub,
)
from tests.test_expense_flow import wait_for


@pytest.fixture
def open_request(client, stub):
    jo = person("jo")
    jo_id = stub.add_person(jo)
    run_id = start(client, person("req"), {"name": "Guarded", "users": [jo]})
    return run_id, jo_id, posted_to(stub, dm_of(stub, jo), "Guarded")


def refused(answer, reason: str) -> None:
    assert answer.status_code == 401, answer.data
    assert answer.json["error"]["code"] == "unauthorized" and answer.json["error"]["details"]["reason"] == reason


def test_forged_stale_unsigned_and_replayed_payloads_are_refused_and_decide_nothing(client, stub, open_request):
    run_id, jo_id, message = open_request
    body = form_body(click(stub, jo_id, message, "Approve"))
    refused(client.post("/hooks/slack/interactions", data=body, headers=signed(body, secret="not-the-secret")),
            "bad_signature")
    refused(client.post("/hooks/slack/interactions", data=body, headers=signed(body, at=int(time.time()) - 6 * 60)),
            "bad_signature")  # correctly signed, but older than Slack's 5 minutes
    refused(client.post("/hooks/slack/interactions", data=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded"}), "bad_signature")
    tampered = body.replace("Approve", "Reject")
    refused(client.post("/hooks/slack/interactions", data=tampered, headers=signed(body)), "bad_signature")
    bad_stamp = {**signed(body), "X-Slack-Request-Timestamp": "soon"}
    refused(client.post("/hooks/slack/interactions", data=body, headers=bad_stamp), "bad_signature")
    assert run_detail(client, run_id)["requests"][0]["decisions"] == []

    headers = signed(body)
    assert client.post("/hooks/slack/interactions", data=body, headers=headers).status_code == 200
    refused(client.post("/hooks/slack/interactions", data=body, headers=headers), "replayed")
    wait_for(lambda: run_detail(client, run_id)["requests"][0]["status"] == "resolved", 30)
    assert len(run_detail(client, run_id)["requests"][0]["decisions"]) == 1


def test_a_signed_body_that_is_not_slacks_form_is_a_400(client):
    forged_button = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
                     "actions": [{"action_id": "wf_decide:0", "value": "not ours"}]}
    no_user = {**forged_button, "user": {}}
    for body in ("payload=not-json", "nothing=here", "payload=%5B1%5D", form_body(forged_button), form_body(no_user)):
        answer = client.post("/hooks/slack/interactions", data=body, headers=signed(body))
        assert answer.status_code == 400 and answer.json["error"]["code"] == "bad_request"


def test_slack_down_then_back_the_request_stays_decidable_and_its_message_arrives(client, stub):
    kim = person("kim")
    stub.add_person(kim)
    stub.down = True
    try:
        run_id = start(client, person("req"), {"name": "While Slack is down", "users": [kim]})
        pending_requests(client, run_id)  # in the inbox, decidable in the app, without waiting for Slack
        wait_for(lambda: len(stub.calls_of("users.lookupByEmail")) + len(stub.calls_of("conversations.open")) >= 2
                 and not [m for m in stub.messages.values() if "While Slack is down" in m["text"]], 30)
    finally:
        stub.down = False
    message = posted_to(stub, dm_of(stub, kim), "While Slack is down")  # the activity's retry, with backoff

    stub.ratelimit_next = 1  # Slack says slow down (429, Retry-After: 1) on the next call: the edit still lands
    request_id = pending_requests(client, run_id)[0]["id"]
    assert act(client, request_id, kim, resolution="Approve").status_code == 200
    wait_for(lambda: "wf_decide" not in json.dumps(message_now(stub, message)["blocks"]), 30)


def test_an_assignee_slack_does_not_know_is_skipped_and_the_others_get_their_dm(client, stub, app):
    lee, unknown = person("lee"), person("unknown")
    stub.add_person(lee)
    run_id = start(client, person("req"), {"name": "Partly in Slack", "users": [lee, unknown]})
    posted_to(stub, dm_of(stub, lee), "Partly in Slack")
    request_id = pending_requests(client, run_id)[0]["id"]
    store = app.extensions["workflows"].redis
    record = wait_for(lambda: store.hget(f"wf:slack:msg:{request_id}", f"user:{unknown}"), 20)
    assert json.loads(record)["error"] == "users_not_found"


def test_the_settings_never_show_a_secret_and_the_test_message_says_why_slack_refused(client, stub):
    state = client.get("/api/v1/slack", headers=auth(ADMIN_KEY))
    assert state.status_code == 200 and state.json["connected"] is True
    assert state.json["interactions_url"].endswith("/hooks/slack/interactions")
    assert SIGNING_SECRET not in state.text and "xoxb-" not in state.text
    assert client.get("/api/v1/slack", headers=auth()).status_code == 403  # an app key

    mo = person("mo")
    stub.add_person(mo)
    sent = client.post("/api/v1/slack/test", headers=auth(ADMIN_KEY), json={"to": mo})
    assert sent.status_code == 200 and sent.json["channel"] == dm_of(stub, mo)
    assert client.post("/api/v1/slack/test", headers=auth(ADMIN_KEY), json={"to": "#general"}).status_code == 200

    cases = {"#no-such-channel": "channel_not_found", person("nobody"): "users_not_found"}
    for to, code in cases.items():
        answer = client.post("/api/v1/slack/test", headers=auth(ADMIN_KEY), json={"to": to})
        assert answer.status_code == 422 and answer.json["error"]["details"]["slack_error"] == code
        assert code in answer.json["error"]["message"]
    bad = client.put("/api/v1/slack", headers=auth(ADMIN_KEY), json={"bot_token": "nope"})
    assert bad.status_code == 422 and "bot_token" in bad.json["error"]["details"]["fields"]
    try:
        revoked = client.put("/api/v1/slack", headers=auth(ADMIN_KEY), json={"bot_token": "xoxb-revoked"})
        assert revoked.status_code == 200
        answer = client.post("/api/v1/slack/test", headers=auth(ADMIN_KEY), json={"to": "#general"})
        assert answer.status_code == 422 and answer.json["error"]["details"]["slack_error"] == "invalid_auth"
        assert "bot token is not valid" in answer.json["error"]["message"]
    finally:
        client.put("/api/v1/slack", headers=auth(ADMIN_KEY), json={"bot_token": stub.token})
    stub.down = True
    try:
        answer = client.post("/api/v1/slack/test", headers=auth(ADMIN_KEY), json={"to": "#general"})
        assert answer.status_code == 503 and answer.json["error"]["details"]["service"] == "slack"
    finally:
        stub.down = False


def test_events_a_dead_worker_read_and_never_acknowledged_are_claimed_by_another(app, monkeypatch):
    svc = app.extensions["workflows"]
    queue = f"claim-{uuid.uuid4().hex[:8]}"
    group = f"slack:{queue}"
    monkeypatch.setattr(follower_module, "CLAIM_IDLE_MS", 0)
    svc.redis.xgroup_create(STREAM, group, id="$", mkstream=True)
    run_id = f"slack_probe-claim-{uuid.uuid4().hex[:8]}"
    request = HumanRequest(id=f"{run_id}:000000000000-1", run_id=run_id, query="claim_probe", name="Claimed",
                           message="", metadata={}, resolutions=["Approve"], users=["x@example.com"], groups=[],
                           required_approvals=1, rejecting_resolutions=[], allow_self_approval=False,
                           requester="r@example.com", created_at="2026-12-07T10:00:00+00:00")
    svc.inbox.put(request)
    [(_, read)] = svc.redis.xreadgroup(group, "dead-worker", {STREAM: ">"}, count=1000)
    assert any(request.id in f[b"data"].decode() for _, f in read)  # a worker read it, then died

    async def follow() -> str:
        client = await connect_client(svc.settings)
        routing = {"queries": {"claim_probe": {"default": "assignees", "requests": {}}}}  # this test's own
        stop = asyncio.Event()
        task = asyncio.create_task(SlackFollower(client, svc.inbox, routing, queue).run(stop))
        try:
            while True:
                try:
                    handle = client.get_workflow_handle(f"slack-{request.id}")
                    queue_of = (await handle.describe()).task_queue
                    await handle.terminate("test over")  # no worker polls this test's queue
                    return queue_of
                except RPCError:
                    await asyncio.sleep(0.2)
        finally:
            stop.set()
            await task

    assert asyncio.run(asyncio.wait_for(follow(), 30)) == f"{queue}.slack"
    assert svc.redis.xpending(STREAM, group)["pending"] == 0  # claimed, handled and acknowledged


def test_requests_that_opened_before_slack_was_connected_get_their_messages_once_it_is(client, stub, monkeypatch):
    monkeypatch.setattr(follower_module, "CONNECTED_EVERY", 0.2)
    sam = person("sam")
    stub.add_person(sam)
    assert client.delete("/api/v1/slack", headers=auth(ADMIN_KEY)).status_code == 200
    try:
        run_id = start(client, person("req"), {"name": "Before connecting", "users": [sam]})
        pending_requests(client, run_id)
        time.sleep(1.5)  # the follower has looked (every 0.2 s) and the sync has skipped: no app connected
        assert not [m for m in stub.messages.values() if "Before connecting" in m["text"]]
    finally:
        connect = {"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "api_url": stub.url}
        assert client.put("/api/v1/slack", headers=auth(ADMIN_KEY), json=connect).status_code == 200
    posted_to(stub, dm_of(stub, sam), "Before connecting")



def _first_posts(stub, channel: str, name: str) -> list[dict]:
    return [p for p in stub.calls_of("chat.postMessage") if p.get("channel") == channel
            and not p.get("thread_ts") and name in str(p.get("text", ""))]


class LostOnce:
    """The worker "dies" right after Slack answered the first post to ``target``: the record of its ts is lost
    (the activity fails there, and Temporal runs it again)."""

    def __init__(self) -> None:
        self.target = ""
        self.lost: list[dict] = []


@pytest.fixture
def record_lost_once(monkeypatch) -> LostOnce:
    armed = LostOnce()
    original = SlackStore.save_message

    def save_message(self, request_id: str, target: str, record: dict) -> None:
        if "ts" in record and target == armed.target and not armed.lost:
            armed.lost.append({"request_id": request_id, **record})
            raise RuntimeError("the worker died before it recorded the message")
        original(self, request_id, target, record)
    monkeypatch.setattr(SlackStore, "save_message", save_message)
    return armed


@pytest.mark.parametrize("history", ["readable", "refused"])
def test_a_post_whose_record_was_lost_is_found_in_the_channel_not_posted_again(client, stub, record_lost_once,
                                                                               settings, history):
    stub.history_refused = history == "refused"
    try:
        kim = person("kim")
        stub.add_person(kim)
        target = record_lost_once.target = f"user:{kim}"
        run_id = start(client, person("req"), {"name": f"Lost once {history}", "users": [kim]})
        [lost] = wait_for(lambda: record_lost_once.lost, 30)
        store = SlackStore(redis.Redis.from_url(settings.redis_url))
        record = wait_for(lambda: (r := store.messages(lost["request_id"]).get(target, {})).get("ts") and r, 60)
        posts = _first_posts(stub, dm_of(stub, kim), f"Lost once {history}")
        if history == "readable":  # found by its metadata in the DM's history: one message, the one posted
            assert len(posts) == 1 and record["ts"] == lost["ts"], (posts, record, lost)
            metadata = posts[0]["metadata"]
            metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
            assert metadata["event_payload"] == {"request_id": lost["request_id"], "target": target}
        else:  # an app without the history scope posts again, as before the guard (docs/slack.md says so)
            assert len(posts) == 2 and record["ts"] != lost["ts"]
        assert pending_requests(client, run_id)[0]["id"] == lost["request_id"]
    finally:
        stub.history_refused = False
