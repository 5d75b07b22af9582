"""Node-based definitions end to end: trigger through the API, the interpreter runs each step kind on the
real Temporal dev server, outbound HTTP goes to a stub server on loopback (allow-listed)."""

from __future__ import annotations

import uuid

from tests.conftest import auth
from tests.fixtures_nodes import (  # noqa: F401  fixtures
    node_app,
    node_client,
    node_settings,
    node_worker,
    node_workspace,
    run_of,
    stub,
    temporal,
    trigger,
    wait_run,
)


def person() -> str:
    return f"p-{uuid.uuid4().hex[:8]}@example.com"


def resolve(client, run: dict, who: str, resolution: str) -> dict:
    request_id = run["requests"][0]["id"]
    response = client.post(f"/api/v1/requests/{request_id}/resolve", headers=auth(user=who),
                           json={"resolution": resolution})
    assert response.status_code == 200, response.json
    return response.json


def test_small_order_is_priced_and_recorded_without_approval(node_client, stub):
    stub.route("/price", (200, {"price": 7.5}))
    stub.route("/orders", (201, {"ok": True}))
    item = f"pen-{uuid.uuid4().hex[:6]}"
    run_id = trigger(node_client, "quote_order", {"base_url": stub.url, "item": item, "qty": 4,
                                                   "approver": person()})
    run = wait_run(node_client, run_id)
    assert run["status"] == "completed", run
    assert run["output"] == {"total": 30.0, "approved": True, "recorded": 201}
    [price_call] = [r for r in stub.hits("/price") if r["query"].get("item") == [item]]
    assert price_call["headers"]["X-Order"] == f"{item}-4"
    [order] = [r for r in stub.hits("/orders") if r["body"]["item"] == item]
    assert order["method"] == "POST" and order["body"] == {"item": item, "total": 30.0, "approved": True}
    assert run["definition_version"] and len(run["definition_version"]) == 64
