"""Idempotency-Key and business-key run ids: one run per key, also in flight, across restarts, without Redis."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import redis

from plugin.api import create_app
from tests.conftest import ADMIN_KEY, auth
from tests.runs_helpers import ended, error_of, get_run, trigger, user


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}


def test_same_key_and_body_returns_the_same_run_and_says_it_exists(client):
    who, headers = user(), key()
    first = trigger(client, who, {"value": "a"}, headers=headers)
    again = trigger(client, who, {"value": "a"}, headers=headers)
    assert again["run_id"] == first["run_id"] and again["existing"] is True and first["existing"] is False
    ended(client, first["run_id"], who)
    after_end = trigger(client, who, {"value": "a"}, headers=headers)
    assert after_end["run_id"] == first["run_id"] and after_end["existing"] is True
    assert after_end["status"] == "completed"


def test_the_draft_s_quoted_form_of_the_key_is_the_same_key(client):
    who, raw = user(), f"k-{uuid.uuid4().hex}"
    first = trigger(client, who, {"value": "q"}, headers={"Idempotency-Key": raw})
    quoted = trigger(client, who, {"value": "q"}, headers={"Idempotency-Key": f'"{raw}"'})
    assert quoted["run_id"] == first["run_id"]


def test_same_key_with_another_body_is_422(client):
    who, headers = user(), key()
    trigger(client, who, {"value": "a"}, headers=headers)
    response = client.post("/api/v1/queries/runs_lab/runs", headers={**auth(user=who), **headers},
                           json={"input": {"value": "b"}})
    assert response.status_code == 422
    error = error_of(response)
    assert error["details"]["header"] == "Idempotency-Key" and "different body" in error["message"]


def test_the_same_key_from_another_caller_is_another_run(client):
    headers = key()
    mine = trigger(client, user(), {"value": "a"}, headers=headers)
    theirs = trigger(client, user(), {"value": "a"}, headers=headers)
    assert mine["run_id"] != theirs["run_id"] and theirs["existing"] is False


def test_concurrent_requests_with_one_key_make_one_run(client, app):
    who, headers = user(), key()

    def fire(_: int) -> str:
        with app.test_client() as c:
            return trigger(c, who, {"value": "race", "sleep": 5}, headers=headers)["run_id"]
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(fire, range(8)))
    assert len(ids) == 1


def test_idempotency_holds_across_an_api_restart_and_a_redis_flush(client, settings, worker):
    who, headers = user(), key()
    first = trigger(client, who, {"value": "keep"}, headers=headers)
    restarted = create_app(settings)
    try:
        with restarted.test_client() as fresh:
            again = trigger(fresh, who, {"value": "keep"}, headers=headers)
            assert again["run_id"] == first["run_id"] and again["existing"] is True
            redis.Redis.from_url(settings.redis_url).delete(
                *redis.Redis.from_url(settings.redis_url).keys("wf:idem:*"))
            without_record = trigger(fresh, who, {"value": "keep"}, headers=headers)
            assert without_record["run_id"] == first["run_id"] and without_record["existing"] is True
            other_body = fresh.post("/api/v1/queries/runs_lab/runs", headers={**auth(user=who), **headers},
                                    json={"input": {"value": "changed"}})
            assert other_body.status_code == 422, other_body.json
    finally:
        restarted.extensions["workflows"].gateway.close()


def test_a_key_that_is_not_printable_ascii_is_400(client):
    for bad in ('""', "é" * 3, "x" * 256):
        response = client.post("/api/v1/queries/runs_lab/runs",
                               headers={**auth(user=user()), "Idempotency-Key": bad}, json={"input": {}})
        assert response.status_code == 400, bad
        assert error_of(response)["details"]["header"] == "Idempotency-Key"


def test_an_empty_key_is_no_key(client):
    """Hosts that send every header a query declares (Budibase, Appsmith) send it empty when nothing is bound."""
    for empty in ("", "   "):
        response = client.post("/api/v1/queries/runs_lab/runs",
                               headers={**auth(user=user()), "Idempotency-Key": empty}, json={"input": {}})
        assert response.status_code == 202, response.json


def test_business_key_returns_the_open_run_then_starts_anew_once_it_ended(client):
    who, order = user(), uuid.uuid4().hex[:8]
    first = trigger(client, who, {"order": order, "sleep": 2}, query="runs_lab_keyed")
    assert first["run_id"] == f"lab-order-{order}" and first["existing"] is False
    second = trigger(client, who, {"order": order, "sleep": 2}, query="runs_lab_keyed")
    assert second["run_id"] == first["run_id"] and second["existing"] is True
    assert second["status"] in ("running", "waiting")
    ended(client, first["run_id"], who)
    third = trigger(client, who, {"order": order, "value": "new"}, query="runs_lab_keyed")
    assert third["run_id"] == first["run_id"] and third["existing"] is False
    # at once the new run's state, never the ended run's snapshot
    assert get_run(client, third["run_id"], who)["input"] == {"order": order, "value": "new"}
    assert ended(client, third["run_id"], who)["output"] == {"echo": "new"}


def test_business_key_with_an_idempotency_key_answers_its_own_run_even_after_it_ended(client):
    who, order, headers = user(), uuid.uuid4().hex[:8], key()
    first = trigger(client, who, {"order": order, "value": "v"}, query="runs_lab_keyed", headers=headers)
    ended(client, first["run_id"], who)
    again = trigger(client, who, {"order": order, "value": "v"}, query="runs_lab_keyed", headers=headers)
    assert again["existing"] is True and again["status"] == "completed"


def test_business_key_with_an_idempotency_key_after_another_s_run_ended_starts_the_next_run(client):
    who, order = user(), uuid.uuid4().hex[:8]
    unkeyed = trigger(client, who, {"order": order, "value": "a"}, query="runs_lab_keyed")
    ended(client, unkeyed["run_id"], who)
    headers = key()
    first = trigger(client, who, {"order": order, "value": "b"}, query="runs_lab_keyed", headers=headers)
    assert first["run_id"] == unkeyed["run_id"] and first["existing"] is False
    assert ended(client, first["run_id"], who)["output"] == {"echo": "b"}
    again = trigger(client, who, {"order": order, "value": "b"}, query="runs_lab_keyed", headers=headers)
    assert again["existing"] is True and again["status"] == "completed"
    assert get_run(client, again["run_id"], who)["input"] == {"order": order, "value": "b"}
    # another key starts the next run under the business key; this key with another body is refused
    other = trigger(client, who, {"order": order, "value": "c"}, query="runs_lab_keyed", headers=key())
    assert other["existing"] is False and ended(client, other["run_id"], who)["output"] == {"echo": "c"}
    reused = client.post("/api/v1/queries/runs_lab_keyed/runs", headers={**auth(user=who), **headers},
                         json={"input": {"order": order, "value": "changed"}})
    assert reused.status_code == 422, reused.json


def test_business_key_with_an_idempotency_key_while_another_s_run_is_open_answers_that_run(client):
    who, order = user(), uuid.uuid4().hex[:8]
    open_run = trigger(client, who, {"order": order, "sleep": 3}, query="runs_lab_keyed")
    same = trigger(client, who, {"order": order, "sleep": 3}, query="runs_lab_keyed", headers=key())
    assert same["run_id"] == open_run["run_id"] and same["existing"] is True
    other_body = client.post("/api/v1/queries/runs_lab_keyed/runs", headers={**auth(user=who), **key()},
                             json={"input": {"order": order, "value": "x"}})
    assert other_body.status_code == 422, other_body.json


def test_business_key_values_with_quotes_are_422_naming_the_field(client):
    response = client.post("/api/v1/queries/runs_lab_keyed/runs", headers=auth(user=user()),
                           json={"input": {"order": "a'b"}})
    assert response.status_code == 422 and "input.order" in error_of(response)["details"]["fields"]


def test_admin_key_runs_are_admin_s_own(client):
    response = client.post("/api/v1/queries/runs_lab/runs", headers=auth(ADMIN_KEY), json={"input": {}})
    assert response.status_code == 202
    assert get_run(client, response.json["run_id"])["started_by"] == "key:admin"
