"""Runtime settings reach the worker without a restart: the HTTP allow-list and the notification URL are read by
the activities from the same Redis-backed settings (cached at most half a second), and request defaults are
pinned on each new run."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis
from temporalio.exceptions import ApplicationError

from plugin.engine.activities import ReadModelActivities
from plugin.engine.calls import http_types as t
from plugin.engine.calls.http_activity import HttpActivities
from plugin.engine.request_options import new_request
from plugin.models import AssignRequest, Notification
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.inbox import Inbox
from tests.conftest import ADMIN_KEY, auth, serve_app
from tests.fixtures_nodes import StubServer
from tests.requests_helpers import group, pending_requests, person, start_probe
from tests.test_settings_api import in_force_within_a_second, isolated


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def own(settings):
    """An API app on a Redis database of its own, and a worker-side settings reader on the same database."""
    own_settings = isolated(settings, 6)
    app_gen = serve_app(own_settings)
    app = next(app_gen)
    yield app, own_settings
    next(app_gen, None)


def change(client, **body) -> None:
    response = client.patch("/api/v1/settings", headers=auth(ADMIN_KEY), json=body)
    assert response.status_code == 200, response.json




def test_the_http_allow_list_changed_on_the_page_reaches_the_http_activity(own, stub):
    app, own_settings = own
    client = app.test_client()
    worker_side = HttpActivities(runtime=RuntimeSettings(own_settings, redis.Redis.from_url(own_settings.redis_url)))
    stub.route("/ok", (200, {"fine": True}))
    call = t.HttpCall(method="GET", url=stub.url + "/ok")

    def allowed() -> bool:
        try:
            return worker_side.http_request(call).body == {"fine": True}
        except ApplicationError as exc:
            assert exc.type == t.FORBIDDEN_ADDRESS and "allow-list" in exc.message
            return False

    assert not allowed()
    change(client, http_allow_hosts=[stub.url.removeprefix("http://")])
    in_force_within_a_second(allowed)
    change(client, http_allow_hosts=None)
    in_force_within_a_second(lambda: not allowed())


def _note(kind: str = "assigned") -> Notification:
    request = new_request(AssignRequest(name="Approve", resolutions=["Approve"], users=[person()]),
                          f"req-{time.monotonic_ns()}", "run-1", "q", person(), datetime.now(UTC))
    return Notification(kind=kind, request=request, recipients_users=request.users, recipients_groups=[])


def test_the_notification_url_changed_on_the_page_reaches_the_notify_activity(own, stub):
    app, own_settings = own
    client = app.test_client()
    worker_redis = redis.Redis.from_url(own_settings.redis_url)
    notify = ReadModelActivities(Inbox(worker_redis), worker_redis,
                                 runtime=RuntimeSettings(own_settings, worker_redis)).notify
    stub.route("/hook", (200, {}))
    notify(_note())
    assert not stub.hits("/hook")
    change(client, notify_url=stub.url + "/hook", http_allow_hosts=[stub.url.removeprefix("http://")])

    def sent() -> bool:
        notify(_note())
        return bool(stub.hits("/hook"))

    in_force_within_a_second(sent)
    assert stub.hits("/hook")[0]["body"]["kind"] == "assigned"
    change(client, notify_url=None, http_allow_hosts=None)


def test_request_defaults_are_pinned_on_runs_started_after_the_change(client):
    requester, approvers = person("req"), group()
    spec = [{"name": "Defaults", "message": "no due time of its own", "groups": [approvers]}]
    before = pending_requests(client, start_probe(client, requester, spec))[0]
    assert before["due_at"] is None and not before["remind_every_seconds"]
    change(client, request_defaults={"due_in_seconds": 7200, "remind_every_seconds": 600, "max_reminders": 2})
    try:
        started = time.time()
        after = pending_requests(client, start_probe(client, requester, spec))[0]
        due_in = datetime.fromisoformat(after["due_at"]).timestamp() - started
        assert 7100 < due_in < 7300 and after["remind_every_seconds"] == 600 and after["max_reminders"] == 2
        own = spec[0] | {"due_in_seconds": 60}
        kept = pending_requests(client, start_probe(client, requester, [own]))[0]
        assert datetime.fromisoformat(kept["due_at"]).timestamp() - time.time() < 120, "its own due time wins"
    finally:
        change(client, request_defaults=None)
