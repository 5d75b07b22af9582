"""What only the events edge (``workflows-plugin events``) has to show, beyond the rules both faces share
(tests/test_events.py runs those on the edge and on the API): a key's cap leaves other keys their streams, and
failed authentications count toward the address limit the API keeps."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from plugin.config import Settings
from plugin.errors import ConfigError
from tests.conftest import auth
from tests.edge_helpers import EdgeStream, open_edge_stream, serve_edge, start_edge
from tests.identity_helpers import create_key
from tests.requests_helpers import person

PER_KEY = 4


@pytest.fixture(scope="module")
def edge(settings, app, tmp_path_factory) -> Iterator[str]:
    yield from serve_edge(settings, tmp_path_factory.mktemp("edge"), max_per_key=PER_KEY)


@pytest.fixture
def stream(edge) -> Iterator:
    opened: list[EdgeStream] = []

    def open_stream(headers: dict[str, str] | None = None, **params) -> EdgeStream:
        opened.append(open_edge_stream(edge, headers, **params))
        return opened[-1]

    yield open_stream
    for each in opened:
        each.close()


def test_a_key_holds_at_most_its_cap_and_other_keys_go_on(client, stream, edge):
    crowded = create_key(client, name="crowded")["secret"]
    for _ in range(PER_KEY):
        stream({"Authorization": f"Bearer {crowded}", "X-Workflows-User": person("c")})
    refused = requests.get(f"{edge}/api/v1/events", timeout=10,
                           headers={"Authorization": f"Bearer {crowded}", "X-Workflows-User": person("c")})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["details"]["scope"] == "key" and refused.headers["Retry-After"] == "10"
    stream(auth(user=person("elsewhere")))


def test_failed_authentications_on_the_edge_count_toward_the_address_limit(settings, app, tmp_path):
    client = app.extensions["workflows"].redis
    limited = settings.with_overrides(rate_limit_failed_auth="3/minute")
    proc, url = start_edge(limited, tmp_path)
    try:
        for _ in range(3):
            assert requests.get(f"{url}/api/v1/events", headers=auth("wfp_app_guess-000000000"), timeout=10) \
                .status_code == 401
        blocked = requests.get(f"{url}/api/v1/events", headers=auth(user=person()), timeout=10)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1  # even with a valid key
        assert "failed authentications" in blocked.json()["error"]["message"]
    finally:
        proc.stop()
        for key in client.scan_iter(match="wf:rl*failed-auth*"):  # other tests call from this address too
            client.delete(key)


@pytest.mark.parametrize("env, words", [
    ({"WORKFLOWS_EVENTS_PORT": "1.5"}, "WORKFLOWS_EVENTS_PORT='1.5' is not a whole number"),
    ({"WORKFLOWS_EVENTS_MAX_PER_USER": "0"}, "WORKFLOWS_EVENTS_MAX_PER_USER=0 is out of range"),
    ({"WORKFLOWS_EVENTS_URL": "events.example.com"}, "must be an http:// or https:// URL"),
])
def test_a_bad_events_setting_is_one_clear_line(env, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        Settings.from_env(env)
