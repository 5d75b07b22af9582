"""Key capabilities on the real stack: each key says what it may do (read, trigger, decide, cancel_retry, admin),
and a key whose user a browser can edit (trusted headers the host fills in the browser) never decides, cancels
or reassigns, whatever the headers say; ``serve`` refuses to guess the app key's identity."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from plugin.config import Settings
from plugin.identity.config import KeyIdentity
from plugin.identity.settings import IdentitySettings
from plugin.store.admin.key_warnings import dev_app_key, serve_refusal
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app
from tests.identity_helpers import LocalIdp, create_key
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.runs_helpers import error_of


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdp]:
    provider = LocalIdp()
    yield provider
    provider.close()


def waiting_request(client, assignee: str) -> tuple[str, str]:
    """A run started by carl waiting on ``assignee`` (and the group managers): (run id, request id)."""
    run_id = start_probe(client, person("carl"), [{"name": "Approve", "users": [assignee], "groups": ["managers"]}])
    [request] = pending_requests(client, run_id)
    return run_id, request["id"]


def as_key(secret: str, user: str, groups: str | None = None) -> dict[str, str]:
    return auth(secret, user=user, groups=groups)


def test_a_browser_filled_headers_key_reads_and_triggers_but_never_decides(client):
    created = create_key(client, name="appsmith community", identity={"schemes": ["headers"]})
    assert created["capabilities"] == ["read", "trigger"]
    secret = created["secret"]
    eve = person("eve")
    _, request_id = waiting_request(client, person("bob"))
    # eve names herself a manager in the headers: before capabilities, this resolved carl's request (200)
    for action, capability in (("resolve", "decide"), ("reassign", "decide"), ("cancel", "cancel_retry")):
        body = {"resolution": "Approve"} if action == "resolve" else {"to_users": [eve]} if action == "reassign" else {}
        refused = act(client, request_id, eve, action, groups="managers", key=secret, **body)
        assert refused.status_code == 403, (action, refused.json)
        assert error_of(refused)["details"] == {"capability": capability}
        assert capability.split("_")[0] in error_of(refused)["message"]
    run = client.post("/api/v1/queries/approval_probe/runs", headers=as_key(secret, eve),
                      json={"input": {"requests": [{"name": "x", "users": [eve], "resolutions": ["Approve"]}]}})
    assert run.status_code == 202, run.json
    assert client.get(f"/api/v1/runs/{run.json['run_id']}", headers=as_key(secret, eve)).status_code == 200
    cancel = client.post(f"/api/v1/runs/{run.json['run_id']}/cancel", headers=as_key(secret, eve), json={})
    assert cancel.status_code == 403 and error_of(cancel)["details"] == {"capability": "cancel_retry"}


def test_such_a_key_cannot_be_given_decide_and_a_server_filled_one_can(client):
    refused = client.post("/api/v1/keys", headers=auth(ADMIN_KEY), json={
        "name": "k", "scope": "app", "identity": {"schemes": ["headers"]}, "capabilities": ["read", "decide"]})
    assert refused.status_code == 422 and "capabilities" in error_of(refused)["details"]["fields"]
    server = create_key(client, name="retool", identity={"schemes": ["headers"], "headers_source": "server"})
    assert server["capabilities"] == ["read", "trigger", "decide", "cancel_retry"]
    assert server["identity"]["headers_source"] == "server"
    bob = person("bob")
    _, request_id = waiting_request(client, bob)
    assert act(client, request_id, bob, key=server["secret"], resolution="Approve").status_code == 200


def test_capabilities_narrow_what_a_key_may_do_and_are_changed_through_the_keys_api(client):
    created = create_key(client, name="reader", identity={"schemes": ["headers"], "headers_source": "server"},
                         capabilities=["read"])
    user = person("ann")
    trigger = client.post("/api/v1/queries/approval_probe/runs", headers=as_key(created["secret"], user),
                          json={"input": {"requests": [{"name": "x", "users": [user], "resolutions": ["Approve"]}]}})
    assert trigger.status_code == 403 and error_of(trigger)["details"] == {"capability": "trigger"}
    assert client.get("/api/v1/requests", headers=as_key(created["secret"], user)).status_code == 200
    changed = client.patch(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY),
                           json={"capabilities": ["read", "trigger"]})
    assert changed.status_code == 200 and changed.json["capabilities"] == ["read", "trigger"]
    again = client.post("/api/v1/queries/approval_probe/runs", headers=as_key(created["secret"], user),
                        json={"input": {"requests": [{"name": "x", "users": [user], "resolutions": ["Approve"]}]}})
    assert again.status_code == 202, again.json
    wrong = client.patch(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY), json={"capabilities": ["admin"]})
    assert wrong.status_code == 422
    # Turning the key's headers into browser-filled ones drops what it can no longer have.
    browser = client.patch(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY),
                           json={"capabilities": ["read", "trigger", "decide"]})
    assert browser.json["capabilities"] == ["read", "trigger", "decide"]
    narrowed = client.patch(f"/api/v1/keys/{created['id']}", headers=auth(ADMIN_KEY),
                            json={"identity": {"schemes": ["headers"]}})
    assert narrowed.json["capabilities"] == ["read", "trigger"]
    listed = {k["id"]: k for k in client.get("/api/v1/keys", headers=auth(ADMIN_KEY)).json["keys"]}
    assert listed["env:admin"]["capabilities"] == ["read", "trigger", "decide", "cancel_retry", "admin"]
    assert listed["env:app"]["capabilities"] == ["read", "trigger", "decide", "cancel_retry"]
    assert listed[created["id"]]["capabilities"] == ["read", "trigger"]


def test_a_key_with_token_and_headers_decides_only_as_the_token_proves(client, idp):
    mixed = create_key(client, name="mixed", identity={"schemes": ["oidc", "headers"], "oidc": idp.oidc_config()})
    assert "decide" in mixed["capabilities"]
    bob = person("bob")
    _, request_id = waiting_request(client, bob)
    by_header = act(client, request_id, bob, key=mixed["secret"], resolution="Approve")
    assert by_header.status_code == 403 and error_of(by_header)["details"] == {"capability": "decide"}
    by_token = client.post(f"/api/v1/requests/{request_id}/resolve", json={"resolution": "Approve"}, headers={
        "Authorization": f"Bearer {mixed['secret']}", "X-Workflows-Identity": idp.token(bob)})
    assert by_token.status_code == 200, by_token.json


@pytest.fixture(scope="module")
def browser_app_client(settings: Settings, worker):
    """The bootstrap app key as `serve` runs it for a host that fills the headers in the browser."""
    own = settings.with_overrides(identity=IdentitySettings(app_key=KeyIdentity()))
    for app in serve_app(own):
        yield app.test_client()


def test_the_bootstrap_app_key_in_browser_headers_mode_cannot_decide(client, browser_app_client):
    bob = person("bob")
    _, request_id = waiting_request(client, bob)
    refused = act(browser_app_client, request_id, bob, resolution="Approve")
    assert refused.status_code == 403 and error_of(refused)["details"] == {"capability": "decide"}
    assert browser_app_client.get("/api/v1/requests", headers=auth(APP_KEY, user=bob)).status_code == 200


def test_serve_refuses_to_guess_the_app_keys_identity(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOWS_")}
    env.update(WORKFLOWS_DATA_DIR=str(tmp_path), WORKFLOWS_APP_KEY="an-app-key-0123456789",
               WORKFLOWS_REDIS_URL="redis://127.0.0.1:1/0")
    done = subprocess.run([sys.executable, "-m", "plugin.cli", "serve"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "WORKFLOWS_APP_KEY_IDENTITY is not" in line
    given = Settings.from_env({"WORKFLOWS_APP_KEY": "k" * 20, "WORKFLOWS_APP_KEY_IDENTITY": "headers"})
    assert serve_refusal(given) is None and "decide" not in given.identity.app_capabilities
    assert serve_refusal(Settings.from_env({})) is None  # no app key, nothing to guess


def test_ups_generated_dev_key_decides_on_loopback_only():
    plain = Settings.from_env({"WORKFLOWS_APP_KEY": "k" * 20})
    local = dev_app_key(plain, generated=True, loopback=True)
    assert local.identity.app_key.headers_source == "server" and "decide" in local.identity.app_capabilities
    exposed = dev_app_key(plain, generated=True, loopback=False)
    assert "decide" not in exposed.identity.app_capabilities
    own = dev_app_key(plain, generated=False, loopback=True)
    assert "decide" not in own.identity.app_capabilities
    # the API child that `up` starts with `serve` sees the same key settings, and starts
    child = Settings.from_env(local.to_env())
    assert child.identity.app_key == local.identity.app_key and serve_refusal(child) is None
