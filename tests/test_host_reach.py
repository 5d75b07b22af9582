"""Reaching the plugin from a host in a container: WORKFLOWS_HOST, and up's warning about development keys."""

from __future__ import annotations

import io
import signal

import pytest
from click.testing import CliRunner

from plugin.cli import commands as cli
from plugin.config import Settings
from plugin.embedded import up
from plugin.errors import ConfigError


def test_workflows_host_reaches_the_api_server_bind(monkeypatch):
    settings = Settings.from_env({"WORKFLOWS_HOST": "0.0.0.0", "WORKFLOWS_PORT": "9911"})
    assert settings.host == "0.0.0.0"
    assert Settings.from_env(settings.to_env()).host == "0.0.0.0"  # what up hands its children
    calls = []
    monkeypatch.setattr(cli.os, "execve", lambda exe, args, env: calls.append(args))
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: settings))
    # serve's start-up checks (tests/test_startup_refusals.py) would find nothing listening and exit the process
    monkeypatch.setattr("plugin.cli.startup_checks.check_process", lambda settings, role: None)
    result = CliRunner().invoke(cli.main, ["serve"])
    assert result.exit_code == 0, result.output
    args = calls[0]
    assert args[args.index("--bind") + 1] == "0.0.0.0:9911"


@pytest.mark.parametrize("host, beyond", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                          ("127.0.0.2", False), ("0.0.0.0", True), ("::", True),
                                          ("10.1.2.3", True), ("plugin.internal", True)])
def test_which_hosts_listen_beyond_loopback(host, beyond):
    assert up.beyond_loopback(host) is beyond


def test_readiness_is_checked_through_loopback_when_listening_on_all_interfaces():
    assert up.local_url(Settings(host="0.0.0.0", port=8787)) == "http://127.0.0.1:8787"
    assert up.local_url(Settings(host="::", port=8787)) == "http://[::1]:8787"
    assert up.local_url(Settings(host="10.1.2.3", port=8787)) == "http://10.1.2.3:8787"


def test_the_warning_names_the_development_keys_and_the_fix(tmp_path):
    exposed = Settings(host="0.0.0.0", data_dir=tmp_path)
    warning = up.exposure_warning(exposed, generated_keys=True)
    assert warning and "0.0.0.0" in warning and "WORKFLOWS_ADMIN_KEY" in warning and "keys.json" in warning
    assert up.exposure_warning(exposed, generated_keys=False) is None
    assert up.exposure_warning(Settings(host="127.0.0.1", data_dir=tmp_path), generated_keys=True) is None


@pytest.mark.parametrize("keys, warned", [({}, True), ({"admin_key": "a" * 20, "app_key": "b" * 20}, False),
                                          ({"admin_key": "a" * 20}, True)])
def test_up_prints_the_warning_before_starting(tmp_path, monkeypatch, keys, warned):
    monkeypatch.setattr(up.Stack, "start", lambda self: None)
    monkeypatch.setattr(up.Stack, "watch", lambda self: 0)
    out = io.StringIO()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        code = up.run_up(Settings(host="0.0.0.0", data_dir=tmp_path, **keys), out)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert code == 0
    assert ("WARNING: the API listens on 0.0.0.0" in out.getvalue()) is warned, out.getvalue()
    assert (tmp_path / "keys.json").exists()


def test_public_url_and_cors_settings_reach_the_children():
    env = {"WORKFLOWS_PUBLIC_URL": "https://workflows.example.com/", "WORKFLOWS_HOST": "0.0.0.0",
           "WORKFLOWS_CORS_ORIGINS": "https://apps.example.com,https://tools.example.com",
           "WORKFLOWS_CORS_CREDENTIALS": "yes"}  # 'null' with credentials is refused (tests/test_cors.py)
    again = Settings.from_env(Settings.from_env(env).to_env())
    assert again.public_url == "https://workflows.example.com"
    assert (again.host, again.cors_origins, again.cors_credentials) == (
        "0.0.0.0", ("https://apps.example.com", "https://tools.example.com"), True)
    with pytest.raises(ConfigError, match="WORKFLOWS_PUBLIC_URL"):
        Settings.from_env({"WORKFLOWS_PUBLIC_URL": "workflows.example.com"})
    with pytest.raises(ConfigError, match="WORKFLOWS_CORS_CREDENTIALS"):
        Settings.from_env({"WORKFLOWS_CORS_CREDENTIALS": "maybe"})
