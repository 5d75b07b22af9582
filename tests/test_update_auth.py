"""With a decision secret, only the API can change a request: an update sent straight to Temporal (any
identity in it) is refused by the worker's validator and leaves no history."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from temporalio.client import WorkflowUpdateFailedError

from plugin.config import Settings
from plugin.engine.update_auth import update_mac
from plugin.models import CancelRequestInput, Identity, ResolveInput
from plugin.temporal_gateway import connect_client
from tests.conftest import serve_app, serve_worker
from tests.requests_helpers import act, pending_requests, person, run_detail, start_probe

SECRET = "test-decision-secret-0123456789"


@pytest.fixture(scope="module")
def signed_settings(settings: Settings) -> Settings:
    return settings.with_overrides(task_queue=f"signed-{uuid.uuid4().hex[:8]}", decision_secret=SECRET)


@pytest.fixture(scope="module")
def signed_app(signed_settings: Settings) -> Iterator[Flask]:
    for _worker in serve_worker(signed_settings):
        yield from serve_app(signed_settings)


def send_directly(settings: Settings, run_id: str, update: str, arg) -> Exception | object:
    async def go():
        client = await connect_client(settings)
        try:
            return await client.get_workflow_handle(run_id).execute_update(update, arg)
        except WorkflowUpdateFailedError as exc:
            return exc
    return asyncio.run(go())


def accepted_updates(settings: Settings, run_id: str) -> int:
    async def go():
        client = await connect_client(settings)
        history = await client.get_workflow_handle(run_id).fetch_history()
        return sum(1 for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes"))
    return asyncio.run(go())


def test_updates_that_bypass_the_api_are_refused_and_leave_no_history(signed_app, signed_settings):
    client = signed_app.test_client()
    requester, boss = person("req"), person("boss")
    run_id = start_probe(client, requester, [{"name": "Signed", "users": [boss]}, {"name": "Second",
                                                                                    "users": [boss]}])
    [request] = pending_requests(client, run_id)
    as_boss = Identity(user=boss)
    forged = ResolveInput(request_id=request["id"], resolution="Approve", identity=as_boss, comment="bypass")
    for arg in (forged, dataclasses.replace(forged, mac="0" * 64),
                dataclasses.replace(forged, mac=update_mac("another-secret-0123456789", "resolve_request", forged)),
                # a MAC of another decision does not carry over
                dataclasses.replace(forged, mac=update_mac(SECRET, "resolve_request",
                                                           dataclasses.replace(forged, resolution="Reject")))):
        refused = send_directly(signed_settings, run_id, "resolve_request", arg)
        assert isinstance(refused, WorkflowUpdateFailedError), refused
        assert "did not come through" in str(refused.cause)
    admin = CancelRequestInput(request_id=request["id"], identity=Identity(is_admin=True))
    assert isinstance(send_directly(signed_settings, run_id, "cancel_request", admin), WorkflowUpdateFailedError)
    assert run_detail(client, run_id)["requests"][0]["status"] == "pending"
    assert accepted_updates(signed_settings, run_id) == 0, "a refused update leaves no history"

    through_api = act(client, request["id"], boss, resolution="Approve", comment="ok")
    assert through_api.status_code == 200, through_api.json
    assert accepted_updates(signed_settings, run_id) == 1
