"""Webhook triggers: tokens in the URL or as Bearer, answers (async, sync, respond step), limits, admin API."""

from __future__ import annotations

import time
import uuid

from tests.conftest import ADMIN_KEY, APP_KEY, auth
from tests.runs_helpers import ended, error_of, get_run
from tests.webhook_helpers import enable, post_hook


def test_enabling_shows_the_token_once_and_only_admins_manage_webhooks(client):
    made = enable(client)
    assert made["token"].startswith("wfh_") and made["url_with_token"].endswith(f"/hooks/runs_lab/{made['token']}")
    assert made["enabled"] is True and made["signed"] is False and "signing_secret" not in made
    shown = client.get("/api/v1/queries/runs_lab/webhook", headers=auth(ADMIN_KEY)).json
    assert "token" not in shown and shown["token_hint"] == made["token"][-4:]
    assert shown["url"].endswith("/hooks/runs_lab")
    assert client.get("/api/v1/queries/runs_lab/webhook", headers=auth()).status_code == 403
    again = client.post("/api/v1/queries/runs_lab/webhook", headers=auth(ADMIN_KEY), json={})
    assert again.status_code == 409 and "/webhook/token" in error_of(again)["message"]
    assert client.get("/api/v1/queries/nope/webhook", headers=auth(ADMIN_KEY)).status_code == 404



def test_webhook_changes_are_in_the_settings_audit_without_secrets(client):
    made = enable(client, "runs_lab_keyed", signed=True)
    token = client.post("/api/v1/queries/runs_lab_keyed/webhook/token", headers=auth(ADMIN_KEY)).json["token"]
    entries = client.get("/api/v1/keys/audit", headers=auth(ADMIN_KEY)).json["entries"]
    mine = [e for e in entries if e["target"] == "webhook:runs_lab_keyed"]
    assert [e["action"] for e in mine[:2]] == ["webhook_token_regenerated", "webhook_enabled"]
    assert mine[0]["actor"] == "key:admin"
    text = str(entries)
    assert made["token"] not in text and token not in text and made["signing_secret"] not in text


def test_token_in_the_url_starts_a_run_recorded_as_the_webhooks_with_the_callers_ip(client):
    token = enable(client)["token"]
    response = post_hook(client, "runs_lab", token, {"value": "from a webhook"}, in_url=True)
    assert response.status_code == 202, response.json
    body = response.json
    assert body["status"] == "running" and body["status_url"] == f"/api/v1/runs/{body['run_id']}"
    assert response.headers["X-Workflows-Run-Id"] == body["run_id"]
    run = ended(client, body["run_id"])
    assert run["status"] == "completed" and run["output"] == {"echo": "from a webhook"}
    assert run["started_by"] == "webhook:runs_lab" and run["input"] == {"value": "from a webhook"}
    assert run["origin"] == {"via": "webhook", "ip": "127.0.0.1"}


def test_token_as_bearer_header_starts_a_run(client):
    token = enable(client)["token"]
    response = post_hook(client, "runs_lab", token, {"value": "bearer"})
    assert response.status_code == 202
    assert ended(client, response.json["run_id"])["output"] == {"echo": "bearer"}


def test_missing_wrong_regenerated_and_revoked_tokens_are_refused(client):
    old = enable(client)["token"]
    missing = post_hook(client, "runs_lab", None)
    assert missing.status_code == 401 and "Bearer" in error_of(missing)["message"]
    assert post_hook(client, "runs_lab", old + "x").status_code == 401
    assert post_hook(client, "runs_lab", old, in_url=True, data={}).status_code == 202
    new = client.post("/api/v1/queries/runs_lab/webhook/token", headers=auth(ADMIN_KEY)).json["token"]
    stale = post_hook(client, "runs_lab", old, in_url=True)
    assert stale.status_code == 401 and "regenerated" in error_of(stale)["message"]
    assert post_hook(client, "runs_lab", new).status_code == 202
    assert client.delete("/api/v1/queries/runs_lab/webhook", headers=auth(ADMIN_KEY)).status_code == 204
    revoked = post_hook(client, "runs_lab", new)
    assert revoked.status_code == 404 and "No webhook" in error_of(revoked)["message"]


def test_the_body_is_validated_against_the_querys_input_schema(client):
    token = enable(client)["token"]
    bad = post_hook(client, "runs_lab", token, {"sleep": "long"})
    assert bad.status_code == 422 and "sleep" in error_of(bad)["details"]["fields"]
    assert post_hook(client, "runs_lab", token, [1, 2]).status_code == 422
    not_json = post_hook(client, "runs_lab", token, raw=b"{nope")
    assert not_json.status_code == 400 and "JSON" in error_of(not_json)["message"]
    deep = post_hook(client, "runs_lab", token, raw=b"[" * 100_000 + b"]" * 100_000)
    assert deep.status_code == 422 and "nests deeper" in error_of(deep)["message"]  # checked before parsing
    assert post_hook(client, "nope", token).status_code == 404


def test_a_sync_query_answers_with_the_output(client):
    token = enable(client, "runs_lab_sync")["token"]
    response = post_hook(client, "runs_lab_sync", token, {"value": "now"})
    assert response.status_code == 200 and response.json == {"echo": "now"}
    assert get_run(client, response.headers["X-Workflows-Run-Id"])["status"] == "completed"


def test_a_respond_step_answers_its_body_and_status_while_the_run_goes_on(client):
    token = enable(client, "request_purchase")["token"]
    response = post_hook(client, "request_purchase", token,  # over 500 USD: the run waits for a manager
                         {"requester": "ann@example.com", "item": "Desk", "amount": 900, "currency": "USD"})
    assert response.status_code == 202, response.json
    assert response.json == {"message": "Purchase request for Desk received",
                             "run": response.headers["X-Workflows-Run-Id"]}
    assert get_run(client, response.headers["X-Workflows-Run-Id"])["status"] in ("running", "waiting")


def test_a_run_that_completes_at_once_still_answers_its_respond_step(client):
    token = enable(client, "request_purchase")["token"]
    response = post_hook(client, "request_purchase", token,  # up to 500 USD: approved at once
                         {"requester": "ann@example.com", "item": "Chair", "amount": 90, "currency": "USD"})
    assert response.status_code == 202, response.json
    assert response.json["message"] == "Purchase request for Chair received"


def test_a_slow_sync_run_answers_202_at_the_querys_limit(client):
    token = enable(client, "runs_lab_sync")["token"]
    began = time.monotonic()
    response = post_hook(client, "runs_lab_sync", token, {"sleep": 30})
    took = time.monotonic() - began
    assert response.status_code == 202 and response.json["status"] == "running"
    assert 5 <= took < 15, took  # runs_lab_sync waits 5 s


def test_a_failing_sync_run_is_422_with_the_run_id(client):
    token = enable(client, "runs_lab_sync")["token"]
    response = post_hook(client, "runs_lab_sync", token, {"fail": "broken"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "run_failed" and "broken" in error["message"]
    run = get_run(client, error["details"]["run_id"])
    assert run["status"] == "failed" and run["started_by"] == "webhook:runs_lab_sync"


def test_over_the_token_rate_limit_is_429_with_retry_after(client):
    token = enable(client, rate_limit="2/minute")["token"]
    assert [post_hook(client, "runs_lab", token).status_code for _ in range(2)] == [202, 202]
    over = post_hook(client, "runs_lab", token)
    assert over.status_code == 429 and error_of(over)["code"] == "rate_limited"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    fresh = client.post("/api/v1/queries/runs_lab/webhook/token", headers=auth(ADMIN_KEY)).json["token"]
    assert post_hook(client, "runs_lab", fresh).status_code == 202  # counted per token


def test_a_bad_rate_limit_is_422_and_the_limit_can_be_changed(client):
    bad = client.post("/api/v1/queries/runs_lab_keyed/webhook", headers=auth(ADMIN_KEY), json={"rate_limit": "lots"})
    assert bad.status_code == 422 and "rate_limit" in error_of(bad)["details"]["fields"]
    enable(client, "runs_lab_keyed")
    changed = client.patch("/api/v1/queries/runs_lab_keyed/webhook", headers=auth(ADMIN_KEY),
                           json={"rate_limit": "5/second"})
    assert changed.status_code == 200 and changed.json["rate_limit"] == "5/second"


def test_a_body_over_the_limit_is_413(client, app):
    token = enable(client)["token"]
    response = post_hook(client, "runs_lab", token, {"value": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"


def test_a_webhook_scoped_api_key_for_the_query_works_as_its_token(client):
    enable(client)

    def webhook_key(query: str) -> str:
        made = client.post("/api/v1/keys", headers=auth(ADMIN_KEY),
                           json={"name": f"crm-{uuid.uuid4().hex[:6]}", "scope": "webhook", "query": query})
        assert made.status_code == 201, made.json
        return made.json["secret"]
    response = post_hook(client, "runs_lab", webhook_key("runs_lab"), {"value": "via key"})
    assert response.status_code == 202, response.json
    assert ended(client, response.json["run_id"])["started_by"] == "webhook:runs_lab"
    assert post_hook(client, "runs_lab", webhook_key("runs_lab_sync")).status_code == 401  # another query's key
    assert post_hook(client, "runs_lab", APP_KEY).status_code == 401  # an app key is not a webhook token


def test_the_openapi_document_describes_webhooks_and_their_admin_api(client):
    doc = client.get("/openapi.json").json
    paths = doc["paths"]
    hook = paths["/hooks/{name}"]["post"]
    assert hook["security"] == [{"webhookToken": []}] and "webhookToken" in doc["components"]["securitySchemes"]
    assert paths["/hooks/{name}/{token}"]["post"]["security"] == []  # the token is in the path
    assert {"202", "200", "401", "413", "422", "429"} <= set(hook["responses"])
    assert hook["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert {"get", "post", "patch", "delete"} <= set(paths["/api/v1/queries/{name}/webhook"])
    assert "post" in paths["/hooks/{name}/{token}"] and "post" in paths["/api/v1/queries/{name}/webhook/secret"]
