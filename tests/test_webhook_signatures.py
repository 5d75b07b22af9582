"""Signed webhooks (Standard Webhooks) and replayed webhook-ids, on the real stack."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import redis

from plugin.store.webhooks import WebhookStore
from tests.conftest import ADMIN_KEY, auth
from tests.runs_helpers import error_of, get_run
from tests.webhook_helpers import enable, post_hook, signed_headers

BODY = json.dumps({"value": "signed"}).encode()


def test_a_signed_webhook_shows_its_secret_once_and_accepts_a_valid_signature(client):
    made = enable(client, signed=True)
    assert made["signing_secret"].startswith("whsec_") and made["signed"] is True
    assert "signing_secret" not in client.get("/api/v1/queries/runs_lab/webhook", headers=auth(ADMIN_KEY)).json
    response = post_hook(client, "runs_lab", made["token"], raw=BODY, headers=signed_headers(made["signing_secret"],
                                                                                            BODY))
    assert response.status_code == 202, response.json


def test_missing_bad_and_stale_signatures_are_401_saying_why(client):
    made = enable(client, signed=True)
    token, secret = made["token"], made["signing_secret"]
    missing = post_hook(client, "runs_lab", token, raw=BODY)
    assert missing.status_code == 401 and "webhook-signature" in error_of(missing)["message"]
    other_secret = enable(client, "runs_lab_keyed", signed=True)["signing_secret"]
    wrong = post_hook(client, "runs_lab", token, raw=BODY, headers=signed_headers(other_secret, BODY))
    assert wrong.status_code == 401 and "does not match" in error_of(wrong)["message"]
    tampered = post_hook(client, "runs_lab", token, raw=b'{"value": "changed"}', headers=signed_headers(secret, BODY))
    assert tampered.status_code == 401
    stale = post_hook(client, "runs_lab", token, raw=BODY, headers=signed_headers(secret, BODY,
                                                                                 age=timedelta(minutes=6)))
    assert stale.status_code == 401 and "5 minutes old" in error_of(stale)["message"]
    garbled = post_hook(client, "runs_lab", token, raw=BODY, headers={**signed_headers(secret, BODY),
                                                                      "webhook-signature": "not-a-signature"})
    assert garbled.status_code == 401 and "v1,<base64>" in error_of(garbled)["message"]
    no_token = post_hook(client, "runs_lab", None, raw=BODY, headers=signed_headers(secret, BODY))
    assert no_token.status_code == 401  # a signature does not stand in for the token


def test_several_signatures_are_accepted_while_a_sender_rotates_secrets(client):
    made = enable(client, signed=True)
    old_secret = made["signing_secret"]
    rotated = client.post("/api/v1/queries/runs_lab/webhook/secret", headers=auth(ADMIN_KEY)).json
    new_secret = rotated["signing_secret"]
    assert new_secret != old_secret
    # the sender signs with both while it switches over: the new one matching is enough
    old_signature = signed_headers(old_secret, BODY, msg_id="msg_rotation")["webhook-signature"]
    headers = signed_headers(new_secret, BODY, msg_id="msg_rotation", extra_signatures=(old_signature,))
    assert post_hook(client, "runs_lab", made["token"], raw=BODY, headers=headers).status_code == 202
    # the old secret alone stops at once
    only_old = post_hook(client, "runs_lab", made["token"], raw=BODY, headers=signed_headers(old_secret, BODY))
    assert only_old.status_code == 401
    off = client.delete("/api/v1/queries/runs_lab/webhook/secret", headers=auth(ADMIN_KEY))
    assert off.status_code == 200 and off.json["signed"] is False
    assert post_hook(client, "runs_lab", made["token"], raw=BODY).status_code == 202


def test_a_replayed_webhook_id_answers_the_first_answer_without_a_second_run(client):
    made = enable(client, signed=True)
    headers = signed_headers(made["signing_secret"], BODY)
    first = post_hook(client, "runs_lab", made["token"], raw=BODY, headers=headers)
    assert first.status_code == 202 and "Webhook-Replayed" not in first.headers
    again = post_hook(client, "runs_lab", made["token"], raw=BODY, headers=headers)
    assert again.status_code == 202 and again.json == first.json and again.headers["Webhook-Replayed"] == "true"
    assert get_run(client, first.json["run_id"])["origin"]["webhook_id"] == headers["webhook-id"]
    other = post_hook(client, "runs_lab", made["token"], raw=BODY, headers=signed_headers(made["signing_secret"], BODY))
    assert other.status_code == 202 and other.json["run_id"] != first.json["run_id"]


def test_a_replayed_sync_answer_is_the_same_output(client):
    token = enable(client, "runs_lab_sync")["token"]
    headers = {"webhook-id": f"msg_{uuid.uuid4().hex}"}
    first = post_hook(client, "runs_lab_sync", token, {"value": "once"}, headers=headers)
    again = post_hook(client, "runs_lab_sync", token, {"value": "once"}, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json == again.json == {"echo": "once"}
    assert again.headers["X-Workflows-Run-Id"] == first.headers["X-Workflows-Run-Id"]


def test_a_replay_in_flight_lands_on_the_same_run(client, redis_url):
    token = enable(client)["token"]
    headers = {"webhook-id": f"msg_{uuid.uuid4().hex}"}
    first = post_hook(client, "runs_lab", token, {"sleep": 30}, headers=headers)
    # as if the first call had not finished answering yet: no kept answer, the run id alone holds
    store = WebhookStore(redis.Redis.from_url(redis_url))
    redis.Redis.from_url(redis_url).delete(store._seen_key("runs_lab", headers["webhook-id"]))
    assert store.answer_for("runs_lab", headers["webhook-id"]) is None
    again = post_hook(client, "runs_lab", token, {"sleep": 30}, headers=headers)
    assert again.status_code == 202 and "Webhook-Replayed" not in again.headers
    assert again.json["run_id"] == first.json["run_id"] and again.json["existing"] is True
