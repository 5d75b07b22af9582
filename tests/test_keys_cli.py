"""``workflows-plugin keys`` gives ``serve`` its first admin key: created from a shell against the configured
Redis, it works on an API that has no key in its settings; listed without its secret; revoked, refused at once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.checkout import REPO_ROOT
from tests.conftest import auth, serve_app


def cli(settings, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOWS_")}
    env |= {"WORKFLOWS_REDIS_URL": settings.redis_url, "WORKFLOWS_DATA_DIR": str(settings.data_dir), **extra}
    return subprocess.run([sys.executable, "-m", "plugin.cli", "keys", *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def keyless_app(settings, worker):
    """An API whose settings hold no admin or app key: keys come only from Redis."""
    yield from serve_app(settings.with_overrides(admin_key=None, app_key=None))


def test_the_first_admin_key_is_made_from_the_shell_listed_and_revoked(settings, keyless_app):
    client = keyless_app.test_client()
    name = f"ops-{uuid.uuid4().hex[:6]}"
    made = cli(settings, "create", "--scope", "admin", "--name", name)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert "\n" not in secret and "shown this once" in made.stderr
    keys = client.get("/api/v1/keys", headers=auth(secret))
    assert keys.status_code == 200, keys.json
    [mine] = [k for k in keys.json["keys"] if k["name"] == name]
    assert mine["scope"] == "admin" and mine["created_by"] == "cli"

    listed = cli(settings, "list")
    assert listed.returncode == 0 and mine["id"] in listed.stdout and secret not in listed.stdout

    app_key = cli(settings, "create", "--scope", "app", "--name", f"{name}-host", "--identity", "headers")
    assert app_key.returncode == 0, app_key.stderr
    runs = client.get("/api/v1/runs", headers=auth(app_key.stdout.strip(), user="a@example.com"))
    assert runs.status_code == 200, runs.json
    assert client.get("/api/v1/keys", headers=auth(app_key.stdout.strip())).status_code == 403

    revoked = cli(settings, "revoke", mine["id"])
    assert revoked.returncode == 0 and mine["id"] in revoked.stdout
    assert client.get("/api/v1/keys", headers=auth(secret)).status_code == 401


def test_mistakes_are_one_line(settings):
    for args, expected in ((("create", "--scope", "app", "--name", "x", "--identity", "oidc"), "--identity:"),
                           (("revoke", "nope"), "No stored key 'nope'")):
        done = cli(settings, *args)
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        assert done.returncode == 1 and len(lines) == 1 and expected in lines[0], lines
    done = cli(settings, "list", WORKFLOWS_REDIS_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "WORKFLOWS_REDIS_URL" in done.stderr
