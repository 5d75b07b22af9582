"""What a newcomer following a host guide reaches: approval links and the `up` banner name an address (never the
wildcard 0.0.0.0 a host-facing `up` listens on), the README says where the port comes from, and a second `up`
on one machine shares the samples' stand-ins instead of failing their calls."""

from __future__ import annotations

import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from plugin.config import Settings
from plugin.embedded import sample_services
from plugin.embedded.processes import free_port
from plugin.embedded.sample_services import STUB_FILE
from plugin.embedded.up import Stack
from plugin.identity.links import link_signer
from tests.checkout import REPO_ROOT, SAMPLE_APPS
from tests.sample_helpers import load_stub


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


def test_the_readme_try_it_says_where_the_port_comes_from():
    readme = (REPO_ROOT / "README.md").read_text()
    try_it = readme[readme.index("## Try it"):readme.index("```", readme.index("```", readme.index("## Try it")) + 3)]
    assert "WORKFLOWS_PORT" in try_it and "localhost:8787/" not in try_it and "$API/api/v1/" in try_it


def start_with_port_taken(monkeypatch, tmp_path, holder: ThreadingHTTPServer) -> tuple[Settings, list[str]]:
    """`up`'s start of the expense sample's stand-in while ``holder`` serves on its port; (settings, what it said)."""
    port = holder.server_address[1]
    said: list[str] = []
    stack = SimpleNamespace(settings=Settings(data_dir=tmp_path), say=said.append,
                            _own=lambda recipe: pytest.fail("a second stand-in on a taken port"))
    stub = SAMPLE_APPS / "expense-approval" / STUB_FILE
    monkeypatch.setattr(sample_services, "sample_stubs", lambda settings: [(stub, port)])
    try:
        return sample_services.start_sample_stubs(stack), said
    finally:
        holder.shutdown()


def test_a_second_up_shares_a_samples_stand_in_instead_of_refusing_its_calls(monkeypatch, tmp_path):
    port = free_port()
    first = load_stub(SAMPLE_APPS / "expense-approval").serve(port)  # the first stack's stand-in
    settings, said = start_with_port_taken(monkeypatch, tmp_path, first)
    assert f"127.0.0.1:{port}" in settings.http_allow_hosts
    assert "sharing it" in said[0]


def test_a_port_held_by_another_program_is_said_at_start(monkeypatch, tmp_path):
    other = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    port = other.server_address[1]
    settings, said = start_with_port_taken(monkeypatch, tmp_path, other)
    assert f"127.0.0.1:{port}" not in settings.http_allow_hosts
    assert "taken by another program" in said[0] and "free the port" in said[0]
