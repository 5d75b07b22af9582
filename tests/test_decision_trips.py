"""A decision's Redis round trips from the API: its admission joined to the first try at the request's lock, and
the inbox write joined to the lock's release (two sends instead of four), with the limits kept exactly: over the
limit the answer is 429 and no lock is taken, and a decision refused before its view still counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from plugin.api.http import rate_limits
from plugin.config import Settings
from plugin.store.inbox import PREFIX
from tests.conftest import APP_KEY, auth, serve_app
from tests.requests_helpers import act, finished, pending_requests, person, start_probe
from tests.test_abuse_limits import assert_429
from tests.test_inbox_pages import commands_sent  # noqa: F401 - a fixture


@pytest.fixture(scope="module")
def limited(settings: Settings, worker) -> Iterator[Flask]:
    yield from serve_app(settings.with_overrides(rate_limit_key=None, rate_limit_user="3/minute",
                                                 rate_limit_failed_auth="50/minute"))


def _pending(client, boss: str) -> dict:
    run_id = start_probe(client, person("r"), [{"name": "Only", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    return {"run_id": run_id, **request}


def test_a_decision_is_two_redis_sends(limited, commands_sent):  # noqa: F811 - the fixture
    client, boss = limited.test_client(), person("boss")
    other = person("boss")
    first, second = _pending(client, boss), _pending(client, other)
    assert act(client, second["id"], other, resolution="Approve").status_code == 200  # the scripts are loaded
    commands_sent.clear()
    answer = act(client, first["id"], boss, resolution="Approve")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "resolved"
    assert commands_sent == [b"EVALSHA", b"EVALSHA"], "admission + lock, then inbox write + release"
    assert finished(client, first["run_id"])["status"] == "completed"


def test_a_decision_is_admitted_in_the_call_that_takes_the_lock(limited, monkeypatch):
    def on_its_own(*args, **kwargs):
        raise AssertionError("the decision was admitted in a Redis call of its own")
    client, boss = limited.test_client(), person("boss")
    request = _pending(client, boss)
    monkeypatch.setattr(rate_limits, "_script", on_its_own)
    assert act(client, request["id"], boss, resolution="Approve").status_code == 200


def test_over_the_limit_a_decision_is_refused_and_takes_no_lock(limited):
    client, boss = limited.test_client(), person("boss")
    request = _pending(client, boss)
    for _ in range(3):
        assert client.get("/api/v1/requests", headers=auth(APP_KEY, user=boss)).status_code == 200
    assert_429(act(client, request["id"], boss, resolution="Approve"))
    redis_client = limited.extensions["workflows"].redis
    assert not redis_client.exists(f"{PREFIX}reqlock:{request['id']}")
    assert pending_requests(client, request["run_id"])[0]["status"] == "pending"


@pytest.mark.parametrize("action, body", [("resolve", {"resolution": "Maybe", "extra": 1}), ("reassign", {}),
                                          ("cancel", {"comment": 5})])
def test_a_decision_refused_before_its_view_still_counts(limited, action, body):
    client, boss = limited.test_client(), person("boss")
    request = _pending(client, boss)
    for _ in range(3):
        assert act(client, request["id"], boss, action, **body).status_code in (403, 422)
    assert_429(act(client, request["id"], boss, action, **body))
    assert_429(act(client, request["id"], boss, resolution="Approve"))
