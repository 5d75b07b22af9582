"""Addresses a user's browser opens (approval links, the `up` banner) are addresses: never the wildcard 0.0.0.0
that a host-facing `up` listens on (WORKFLOWS_HOST=0.0.0.0, as the Appsmith guide starts it)."""

from __future__ import annotations

import io
import socket

from plugin.config import Settings
from plugin.embedded.up import Stack
from plugin.identity.links import link_signer


def test_links_without_a_public_url_name_this_machine_not_the_wildcard(tmp_path):
    settings = Settings(host="0.0.0.0", port=8787, data_dir=tmp_path)
    base = link_signer(settings, None).base_url
    assert "0.0.0.0" not in base and base.endswith(":8787")
    assert base == f"http://{socket.getfqdn()}:8787" or base == "http://127.0.0.1:8787"


def test_links_follow_the_public_url(tmp_path):
    settings = Settings.from_env({"WORKFLOWS_HOST": "0.0.0.0", "WORKFLOWS_PUBLIC_URL": "https://wf.example.com",
                                  "WORKFLOWS_DATA_DIR": str(tmp_path)})
    assert link_signer(settings, None).base_url == "https://wf.example.com"
    assert settings.public_base_url == "https://wf.example.com"


def test_the_up_banner_never_shows_the_wildcard(tmp_path):
    out = io.StringIO()
    stack = Stack.__new__(Stack)
    stack.settings = Settings(host="0.0.0.0", port=8787, data_dir=tmp_path, admin_key="a" * 24, app_key="b" * 24)
    stack.say = lambda line: out.write(line + "\n")
    stack._elapsed = lambda: "1.0 s"
    stack._summary()
    assert "0.0.0.0" not in out.getvalue()
    assert "WORKFLOWS_PUBLIC_URL" in out.getvalue()  # says how to give the real address
