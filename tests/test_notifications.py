"""The notification hook behind the SSRF guard: an internal address (the metadata service) is refused unless the
HTTP allow-list names it, a redirect is never followed (the live approval links would go wherever it points),
and the notification log in Redis keeps who got links for what, never a live link. Real Redis, a real worker
and a real HTTP stub on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import redis
from temporalio.exceptions import ApplicationError

from plugin.engine.activities import NOTIFICATION_LOG, NOTIFY_REFUSED, ReadModelActivities
from plugin.engine.calls.net_guard import Guard, parse_allow_list
from plugin.engine.request_options import new_request
from plugin.identity.links import LinkSigner
from plugin.models import AssignRequest, Notification
from plugin.store.inbox import Inbox
from tests.fixtures_nodes import StubServer
from tests.notification_helpers import links_received, receive_notifications
from tests.requests_helpers import pending_requests, person, start_probe
from tests.test_expense_flow import wait_for


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.close()


def _note(boss: str) -> Notification:
    request = new_request(AssignRequest(name="Approve", resolutions=["Approve", "Reject"], users=[boss]),
                          f"req-{time.monotonic_ns()}", "run-1", "q", person(), datetime.now(UTC))
    return Notification(kind="assigned", request=request, recipients_users=request.users, recipients_groups=[])


def notifier(settings, url: str, allow: tuple[str, ...] = ()) -> ReadModelActivities:
    client = redis.Redis.from_url(settings.redis_url)
    return ReadModelActivities(Inbox(client), client, url, links=LinkSigner(client, "s" * 40, "https://p.example"),
                               guard=Guard(parse_allow_list(allow)))


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/hook",
                                 "http://[::ffff:10.0.0.1]/hook"])
def test_an_internal_notification_url_is_refused(settings, url):
    with pytest.raises(ApplicationError) as caught:
        notifier(settings, url).notify(_note(person("boss")))
    assert caught.value.type == NOTIFY_REFUSED and caught.value.non_retryable
    assert "allow-list" in caught.value.message


def test_a_redirect_is_not_followed_and_an_allowed_host_is_reached(settings, stub):
    elsewhere = stub.route("/elsewhere", (200, {}))
    hook = stub.route("/hook", (302, {"location": elsewhere}))
    allowed = (stub.url.removeprefix("http://"),)
    with pytest.raises(ApplicationError) as caught:
        notifier(settings, hook, allowed).notify(_note(person("boss")))
    assert caught.value.type == NOTIFY_REFUSED and "302" in caught.value.message
    assert len(stub.hits("/hook")) == 1 and stub.hits("/elsewhere") == []
    fine = stub.route("/fine", (200, {}))
    boss = person("boss")
    notifier(settings, fine, allowed).notify(_note(boss))
    [sent] = stub.hits("/fine")
    assert sent["body"]["links"][boss]["Approve"].startswith("https://p.example/approve/")


@pytest.fixture(scope="module")
def notified(app):
    yield from receive_notifications(app)


def test_the_log_in_redis_keeps_no_live_link(client, app, notified):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Buy", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    links = links_received(notified, request["id"])
    assert set(links[boss]) == {"Approve", "Reject"}
    # The log entry is written once the hook has answered (a notification is marked sent only after it was
    # sent), so the hook may see it a moment before the log does.
    def logged() -> list[dict]:
        log = app.extensions["workflows"].redis.lrange(NOTIFICATION_LOG, 0, 1000)
        return [e for e in map(json.loads, log) if e["request"]["id"] == request["id"]]

    [entry] = wait_for(logged)
    log = app.extensions["workflows"].redis.lrange(NOTIFICATION_LOG, 0, 1000)
    assert entry["links_sent"] == {boss: ["Approve", "Reject"]} and "links" not in entry
    text = b"\n".join(log).decode()
    assert all(url.split("/approve/")[1] not in text for url in links[boss].values())
