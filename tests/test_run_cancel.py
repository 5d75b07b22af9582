"""Cancelling a run that waits on a person: the run ends cancelled and its request is withdrawn, also when the
cancel lands while the request is being announced (the notify activity in flight), and a read of an ended run
whose stored request is still pending asks Temporal instead of serving it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from plugin.store.inbox import PREFIX
from plugin.temporal_gateway import connect_client
from tests.fixtures_nodes import StubServer
from tests.notification_helpers import receive_notifications
from tests.requests_helpers import finished, inbox_ids, pending_requests, person, run_detail, start_probe
from tests.test_expense_flow import wait_for


def cancel(settings, run_id: str) -> None:
    async def go() -> None:
        await (await connect_client(settings)).get_workflow_handle(run_id).cancel()
    asyncio.run(go())


@pytest.fixture
def failing_notifications(app) -> Iterator[StubServer]:
    """Notifications go to a hook that answers 500: the notify activity retries (1 s, 2 s, 4 s...)."""
    receiver = receive_notifications(app)
    stub = next(receiver)
    stub.route("/notify", (500, {"error": "down"}))
    try:
        yield stub
    finally:
        next(receiver, None)


def test_a_cancel_landing_while_the_request_is_announced_ends_the_run_and_withdraws_it(
        client, settings, failing_notifications):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Announced", "users": [boss]}])
    wait_for(lambda: any(boss in json.dumps(r["body"]) for r in failing_notifications.requests), timeout=10)
    cancel(settings, run_id)  # the notify activity is still retrying: the cancel reaches it there
    run = finished(client, run_id)
    assert run["status"] == "cancelled", run["status"]
    [request] = run["requests"]
    assert request["status"] == "cancelled"
    assert "request_cancelled" in [a["action"] for a in run["audit"]], "the run withdrew it itself"
    assert request["id"] in wait_for(lambda: inbox_ids(client, boss, status="cancelled"))
    assert request["id"] not in inbox_ids(client, boss)


def test_an_ended_run_whose_stored_request_is_still_pending_is_read_from_temporal(client, app, settings):
    """The guard for a lost withdrawal write: an ended run never shows (or leaves) a pending request."""
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Lost write", "users": [boss]}])
    [pending] = pending_requests(client, run_id)
    redis_client = app.extensions["workflows"].redis
    stored_pending = redis_client.hget(f"{PREFIX}req:{pending['id']}", "doc")
    cancel(settings, run_id)
    assert finished(client, run_id)["requests"][0]["status"] == "cancelled"
    # As if the withdrawal never reached the inbox: the pending version is back (and its index entries).
    redis_client.delete(f"{PREFIX}req:{pending['id']}")
    app.extensions["workflows"].inbox.put(json.loads(stored_pending))
    assert pending["id"] in inbox_ids(client, boss)
    run = run_detail(client, run_id)
    assert run["status"] == "cancelled" and run["requests"][0]["status"] == "cancelled"
    assert pending["id"] not in inbox_ids(client, boss), "the read stored what Temporal said"
    assert pending["id"] in inbox_ids(client, boss, status="cancelled")
