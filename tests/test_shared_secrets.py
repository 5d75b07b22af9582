"""Secrets set through the API are shared by every API and worker process: kept in Redis, encrypted with the
operator's WORKFLOWS_SECRETS_ENCRYPTION_KEY. Set on one API, listed by another with its own data dir, and used by
a separate worker process's connection call; refused (409) without the key; never in Redis in the clear."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from plugin.secrets import SecretStore
from plugin.store.admin.shared_secrets import SECRETS_HASH, SharedSecrets, UnreadableSecret
from tests.checkout import REPO_ROOT
from tests.conftest import ADMIN_KEY, auth, serve_app
from tests.connections_helpers import BEARER, AuthStub, write_workspace
from tests.fixtures_nodes import trigger, wait_run
from tests.test_expense_flow import wait_for


@pytest.fixture(scope="module")
def stub():
    server = AuthStub()
    yield server
    server.close()


def worker_process(settings, data_dir: Path) -> subprocess.Popen:
    """A real `workflows-plugin worker` with its own data dir; ready once the log says it polls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOWS_")}
    env |= {**settings.with_overrides(data_dir=data_dir).to_env(), "WORKFLOWS_ADMIN_KEY": "", "WORKFLOWS_APP_KEY": ""}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "worker.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "plugin.cli", "worker"], env=env, cwd=REPO_ROOT,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: "worker polling" in log.read_text() or proc.poll() is not None, timeout=60)
    assert proc.poll() is None, log.read_text()
    return proc


@pytest.mark.timeout(120)
def test_a_secret_set_on_one_api_is_seen_by_another_and_used_by_a_worker_process(settings, stub, tmp_path):
    name = f"SHARED_BEARER_{uuid.uuid4().hex[:8].upper()}"
    folder = write_workspace(tmp_path / "ws", {"shared_api": {
        "kind": "http", "base_url": stub.url, "auth": {"type": "bearer", "token": {"$secret": name}}}},
        {"shared_call": {"steps": [{"id": "call", "kind": "http", "connection": "shared_api", "path": "/shared"}],
                         "output": {"status": "{{ steps.call.output.status }}"}}})
    own = settings.with_overrides(workspaces=(folder,), task_queue=f"shared-{uuid.uuid4().hex[:8]}",
                                  http_allow_hosts=(stub.hostport,))
    worker = worker_process(own, tmp_path / "worker-data")
    first, second = (serve_app(own.with_overrides(data_dir=tmp_path / f"api-{n}")) for n in (1, 2))
    try:
        one, two = next(first).test_client(), next(second).test_client()
        put = one.put(f"/api/v1/secrets/{name}", headers=auth(ADMIN_KEY), json={"value": BEARER})
        assert put.status_code == 200 and put.json["source"] == "redis", put.json
        [seen] = [s for s in two.get("/api/v1/secrets", headers=auth(ADMIN_KEY)).json["secrets"] if s["name"] == name]
        assert seen["set"] and seen["source"] == "redis" and seen["used_by"] == ["shared_api"]
        run = wait_run(two, trigger(two, "shared_call", {}))
        assert run["status"] == "completed" and run["output"] == {"status": 200}, run
        assert stub.hits("/shared")[-1]["headers"]["Authorization"] == f"Bearer {BEARER}"
        stored = redis.Redis.from_url(settings.redis_url).hget(SECRETS_HASH, name)
        assert stored and BEARER.encode() not in stored
        assert not (tmp_path / "api-1" / "secrets.json").exists()
        assert two.delete(f"/api/v1/secrets/{name}", headers=auth(ADMIN_KEY)).status_code == 204
        assert name not in {s["name"] for s in one.get("/api/v1/secrets", headers=auth(ADMIN_KEY)).json["secrets"]
                            if s["set"]}
    finally:
        next(first, None)
        next(second, None)
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)


def test_without_the_encryption_key_a_secret_is_refused_with_a_409_that_says_why(settings):
    for app in serve_app(settings.with_overrides(secrets_keys=())):
        answer = app.test_client().put("/api/v1/secrets/NO_KEY_HERE", headers=auth(ADMIN_KEY), json={"value": "v"})
        assert answer.status_code == 409 and answer.json["error"]["code"] == "conflict"
        assert "WORKFLOWS_SECRETS_ENCRYPTION_KEY" in answer.json["error"]["message"]


def test_a_value_under_another_key_is_unreadable_and_says_so(settings, tmp_path):
    client = redis.Redis.from_url(settings.redis_url)
    name = f"ROTATED_{uuid.uuid4().hex[:8].upper()}"
    SharedSecrets(client, ("old-key-" + "x" * 32,)).put(name, "value")
    reader = SecretStore(tmp_path, environ={}, shared=SharedSecrets(client, ("new-key-" + "y" * 32,)))
    with pytest.raises(UnreadableSecret, match="WORKFLOWS_SECRETS_ENCRYPTION_KEY"):
        reader.get(name)
    both = SharedSecrets(client, ("new-key-" + "y" * 32, "old-key-" + "x" * 32))
    assert both.get(name) == "value"  # rotation: the old key still decrypts, the new one encrypts
    client.hdel(SECRETS_HASH, name)
