"""Abuse limits: per API key, per end user, and failed authentications per client address; 429 in the error
shape with Retry-After, counted in Redis across API processes."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from flask import Flask

from plugin.api.http import rate_limits
from plugin.config import Settings
from plugin.errors import ConfigError
from tests.conftest import ADMIN_KEY, APP_KEY, auth, serve_app
from tests.requests_helpers import person
from tests.runs_helpers import ended, trigger


@pytest.fixture(scope="module")
def limited_app(settings: Settings, worker) -> Iterator[Flask]:
    yield from serve_app(settings.with_overrides(rate_limit_key="8/minute", rate_limit_user="3/minute",
                                                 rate_limit_failed_auth="4/minute"))


def address() -> dict[str, str]:
    return {"REMOTE_ADDR": f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"}


def assert_429(response) -> None:
    assert response.status_code == 429, response.json
    assert response.json["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_failed_authentication_is_limited_per_address_then_even_a_valid_key_waits(limited_app):
    client, here, elsewhere = limited_app.test_client(), address(), address()
    wrong = {"Authorization": "Bearer wrong-key-0123456789"}
    codes = [client.get("/api/v1/runs", headers=wrong, environ_base=here).status_code for _ in range(4)]
    assert codes == [401] * 4
    assert_429(client.get("/api/v1/runs", headers=wrong, environ_base=here))
    assert_429(client.get("/api/v1/runs", headers=auth(ADMIN_KEY), environ_base=here))
    assert client.get("/api/v1/runs", headers=wrong, environ_base=elsewhere).status_code == 401
    assert client.get("/healthz", environ_base=here).status_code == 200, "no key needed, nothing limited"


def test_requests_are_limited_per_user_and_per_key(limited_app):
    client = limited_app.test_client()
    ann, bob = person("ann"), person("bob")
    assert [client.get("/api/v1/requests", headers=auth(APP_KEY, user=ann)).status_code for _ in range(3)] == [200] * 3
    over = client.get("/api/v1/requests", headers=auth(APP_KEY, user=ann))
    assert_429(over)
    assert ann in over.json["error"]["message"]
    assert client.get("/api/v1/requests", headers=auth(APP_KEY, user=bob)).status_code == 200, "bob has his own"
    codes = [client.get("/api/v1/requests", headers=auth(APP_KEY, user=person())).status_code for _ in range(4)]
    assert codes[-1] == 429 and "API key" in client.get(
        "/api/v1/requests", headers=auth(APP_KEY, user=person())).json["error"]["message"], codes


@pytest.mark.parametrize(("value", "expected"), [(None, "12000/minute"), ("off", None), ("5/second", "5/second")])
def test_limits_have_documented_defaults_and_can_be_turned_off(value, expected):
    env = {"WORKFLOWS_RATE_LIMIT_KEY": value} if value else {}
    assert Settings.from_env(env).rate_limit_key == expected
    assert Settings.from_env({}).rate_limit_failed_auth == "30/minute"


def test_a_bad_limit_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="WORKFLOWS_RATE_LIMIT_USER"):
        Settings.from_env({"WORKFLOWS_RATE_LIMIT_USER": "lots"})


def test_an_admitted_request_is_checked_and_counted_in_one_redis_call(limited_app, monkeypatch):
    storage = rate_limits.strategy(limited_app).storage

    def one_counter_at_a_time(*args, **kwargs):
        raise AssertionError("a counter was read or counted on its own")
    monkeypatch.setattr(storage, "incr", one_counter_at_a_time)
    monkeypatch.setattr(storage, "get", one_counter_at_a_time)
    calls: list[dict] = []
    script = rate_limits._script(storage)
    monkeypatch.setattr(rate_limits, "_script", lambda _: lambda **kw: calls.append(kw) or script(**kw))
    who = person("once")
    # (the inbox and a run's read admit in the Redis call that reads them: tests/test_inbox_pages.py and below)
    answer = limited_app.test_client().get("/api/v1/runs", headers=auth(ADMIN_KEY, user=who),
                                           environ_base=address())
    assert answer.status_code == 200, answer.json
    assert len(calls) == 1 and len(calls[0]["keys"]) == 4, \
        "address check, the ceiling's place, key count and user count at once"
    user_counter = rate_limits.Counter("3/minute", "user", f"bootstrap:admin\0{who}", "")
    assert int(storage.get_connection().get(user_counter.redis_key(storage))) == 1


@pytest.fixture(scope="module")
def read_limited_app(settings: Settings, worker) -> Iterator[Flask]:
    """Limits per user and per address only (the key's own limit is what limited_app's tests use up)."""
    yield from serve_app(settings.with_overrides(rate_limit_key=None, rate_limit_user="3/minute",
                                                 rate_limit_failed_auth="4/minute"))


def test_a_run_read_is_admitted_in_the_redis_call_that_reads_its_snapshot(read_limited_app, client, monkeypatch):
    who = person("owner")
    run_id = trigger(client, who, {"value": "admitted"})["run_id"]
    ended(client, run_id, who)
    client = read_limited_app.test_client()

    def on_its_own(*args, **kwargs):
        raise AssertionError("the run read was admitted in a Redis call of its own")
    monkeypatch.setattr(rate_limits, "_script", on_its_own)
    reader, here = person("reader"), address()
    codes = [client.get(f"/api/v1/runs/{run_id}", headers=auth(APP_KEY, user=reader), environ_base=here).status_code
             for _ in range(3)]
    assert codes == [404] * 3, "counted per user (3/minute), and the run is not theirs"
    assert_429(client.get(f"/api/v1/runs/{run_id}", headers=auth(APP_KEY, user=reader), environ_base=here))
    owner = client.get(f"/api/v1/runs/{run_id}", headers=auth(ADMIN_KEY), environ_base=here)
    assert owner.status_code == 200 and owner.json["status"] == "completed"


def test_a_blocked_address_gets_429_on_a_run_read_before_anything_is_read_or_required(read_limited_app):
    client, here = read_limited_app.test_client(), address()
    wrong = {"Authorization": "Bearer wrong-key-0123456789"}
    assert [client.get("/api/v1/runs/any", headers=wrong, environ_base=here).status_code for _ in range(4)] == [401] * 4
    assert_429(client.get("/api/v1/runs/no-such-run", headers=auth(ADMIN_KEY), environ_base=here))
    assert_429(client.get("/api/v1/runs/no-such-run", headers=auth(APP_KEY), environ_base=here))  # no user named
    head = client.head("/api/v1/runs/no-such-run", headers=auth(ADMIN_KEY), environ_base=here)
    assert head.status_code == 429 and int(head.headers["Retry-After"]) >= 1
    assert_429(client.options("/api/v1/runs/no-such-run", headers=auth(ADMIN_KEY), environ_base=here))  # no view
    assert client.get("/api/v1/runs/no-such-run", headers=auth(APP_KEY), environ_base=address()).status_code == 400


@pytest.fixture(scope="module")
def ceiling_app(settings: Settings) -> Iterator[Flask]:
    """Failed authentications: 3 per address, 12 per key prefix or webhook from all addresses (own Redis db)."""
    from tests.test_settings_api import isolated

    yield from serve_app(isolated(settings, 11, rate_limit_failed_auth="3/minute",
                                  rate_limit_failed_auth_ceiling="12/minute"))


def test_wrong_webhook_tokens_count_as_failed_authentications(limited_app):
    from tests.webhook_helpers import enable, post_hook

    client, here = limited_app.test_client(), address()
    token = enable(client, "runs_lab")["token"]
    codes = [post_hook(client, "runs_lab", "wrong-token", {}, environ_base=here).status_code for _ in range(4)]
    assert codes == [401] * 4, "a wrong webhook token was not counted: an address could guess forever"
    assert_429(post_hook(client, "runs_lab", token, {}, environ_base=here))
    assert_429(client.get("/api/v1/runs", headers=auth(ADMIN_KEY), environ_base=here))
    assert post_hook(client, "runs_lab", token, {}, environ_base=address()).status_code == 202


def test_guesses_spread_over_many_addresses_reach_a_ceiling_for_what_they_aim_at(ceiling_app):
    client = ceiling_app.test_client()
    guessers = [address() for _ in range(6)]
    codes = [client.get("/api/v1/runs", headers={"Authorization": f"Bearer wfp_admin_guess{i}{n}"},
                        environ_base=where).status_code for n, where in enumerate(guessers) for i in range(3)]
    # 6 x 3 guesses: past the ceiling (12), an address that has failed waits; a new one gets its first guess only
    assert codes == [401] * 12 + [401, 429, 429] * 2, codes
    assert_429(client.get("/api/v1/runs", headers=auth(ADMIN_KEY), environ_base=guessers[0]))
    # a host that never failed keeps working, with this key prefix and with others
    assert client.get("/api/v1/runs", headers=auth(ADMIN_KEY), environ_base=address()).status_code == 200
    assert client.get("/api/v1/runs", headers={"Authorization": "Bearer wfp_app_other"},
                      environ_base=address()).status_code == 401, "another prefix has its own ceiling"


def test_webhook_guesses_from_many_addresses_reach_the_webhooks_ceiling(ceiling_app):
    from tests.webhook_helpers import enable, post_hook

    client = ceiling_app.test_client()
    token = enable(client, "runs_lab")["token"]
    guessers = [address() for _ in range(6)]
    codes = [post_hook(client, "runs_lab", f"guess-{n}-{i}", {}, environ_base=where).status_code
             for n, where in enumerate(guessers) for i in range(3)]
    assert codes == [401] * 12 + [401, 429, 429] * 2, codes
    assert post_hook(client, "runs_lab", token, {}, environ_base=address()).status_code == 202
