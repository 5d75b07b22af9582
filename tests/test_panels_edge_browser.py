# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""The panels in a real browser with live updates from the events edge on its own origin, as ``up`` runs them:
the stream token's ``url`` points at the edge, the panel opens it as it is, and the edge lets the API's origin
read the stream (CORS)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests
from playwright.sync_api import expect
from werkzeug.serving import make_server

from plugin.api import create_app
from plugin.embedded.processes import free_port
from tests.edge_helpers import start_edge
from tests.panels_browser import browser, open_page  # noqa: F401  fixtures
from tests.requests_helpers import act, group, pending_requests, person, start_probe
from tests.test_expense_flow import wait_for


@pytest.fixture(scope="module")
def edge_and_base_url(settings, worker, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The API on a real HTTP server whose stream tokens point at an events process on another port."""
    edge_port = free_port()
    streams = replace(settings.streams, public_url=f"http://127.0.0.1:{edge_port}")
    application = create_app(settings.with_overrides(streams=streams))
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    proc, edge = start_edge(settings.with_overrides(cors_origins=(base,)), tmp_path_factory.mktemp("edge"),
                            port=edge_port, heartbeat=1.0)
    yield edge, base
    proc.stop()
    server.shutdown()
    thread.join(10)
    application.extensions["workflows"].gateway.close()


@pytest.fixture(scope="module")
def base_url(edge_and_base_url) -> str:
    return edge_and_base_url[1]


def test_the_history_panel_follows_a_run_live_over_the_edge(client, open_page, edge_and_base_url):
    edge, base = edge_and_base_url
    requester, approver, approvers = person("req"), person("boss"), group()
    run_id = start_probe(client, requester, [{"name": "Sign off", "groups": [approvers]}])
    [request] = pending_requests(client, run_id)
    history = open_page("/ui/history/", user=requester, base=base)  # as a panel placed elsewhere is configured
    row = history.locator(f'tr[data-run="{run_id}"]')
    expect(row.locator(".wf-chip")).to_have_text("waiting")
    wait_for(lambda: requests.get(f"{edge}/healthz", timeout=5).json()["streams"] >= 1, 10)  # the panel's stream
    assert act(client, request["id"], approver, groups=approvers, resolution="Approve").status_code == 200
    expect(row.locator(".wf-chip")).to_have_text("completed")  # no reload: the event came from the edge
