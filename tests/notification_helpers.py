"""A notification receiver for the tests: a stub on 127.0.0.1 set as the notification URL (and allowed through
the HTTP allow-list) on the settings page for one test module. Links travel only in the POSTs it receives:
the plugin's own notification log in Redis never keeps a live link."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from tests.conftest import ADMIN_KEY, auth
from tests.fixtures_nodes import StubServer
from tests.test_expense_flow import wait_for

RUNTIME_CACHE_SECONDS = 0.6  # the runtime settings are cached at most half a second per process


def receive_notifications(app: Any, also_allow: tuple[str, ...] = ()) -> Iterator[StubServer]:
    """Point the notifications of ``app``'s Redis at a stub for as long as the generator runs (``yield from``);
    ``also_allow``: other hosts the workers must keep reaching (the runtime allow-list replaces the environment's)."""
    stub = StubServer()
    url = stub.route("/notify", (200, {}))
    client = app.test_client()
    allow = [stub.url.removeprefix("http://"), *also_allow]
    answer = client.patch("/api/v1/settings", headers=auth(ADMIN_KEY),
                          json={"notify_url": url, "http_allow_hosts": allow})
    assert answer.status_code == 200, answer.json
    time.sleep(RUNTIME_CACHE_SECONDS)
    try:
        yield stub
    finally:
        client.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json={"notify_url": None, "http_allow_hosts": None})
        time.sleep(RUNTIME_CACHE_SECONDS)
        stub.close()


def received(stub: StubServer, request_id: str, kind: str = "assigned") -> list[dict[str, Any]]:
    """The notification bodies the receiver got for a request, of one kind."""
    return [hit["body"] for hit in stub.hits("/notify")
            if hit["body"]["request"]["id"] == request_id and hit["body"]["kind"] == kind]


def links_received(stub: StubServer, request_id: str, kind: str = "assigned") -> dict[str, dict[str, str]]:
    """The approval links of the first notification of that kind (waits for it)."""
    return wait_for(lambda: (found := received(stub, request_id, kind)) and found[0]["links"])
