"""Inbox pages read in one Redis call: the same pages, cursors and ends as the step-by-step read, one command per
``GET /api/v1/requests``, the request admitted in that call, and the rarer pages (a rebuild, a delegate, a name)
still answered the other way."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote

import pytest
import redis
from flask import Flask
from marshmallow import ValidationError
from redis.connection import AbstractConnection
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from plugin.api.http import rate_limits
from plugin.api.plain_args import plain_args
from plugin.api.schemas import RequestListArgs
from plugin.config import Settings
from plugin.models import Identity
from plugin.readmodel.inbox_rebuild import BUILT_KEY
from plugin.store.inbox import PREFIX, Inbox
from tests.conftest import APP_KEY, auth, serve_app
from tests.requests_helpers import inbox_ids, person
from tests.test_abuse_limits import address, assert_429

STATUSES = ("pending", "resolved", "cancelled")


def _seed(box: Inbox, rng: random.Random, users: list[str], groups: list[str], count: int) -> None:
    """``count`` requests over these people and groups, with creation times that collide (ties by id) and ids
    outside ASCII; a few documents removed afterwards (an index entry whose document is gone)."""
    tag = uuid.uuid4().hex[:6]
    ids = []
    for i in range(count):
        rid = f"{tag}-{rng.choice(['a', 'B', 'é', 'z', '日'])}{i:03d}:000000000000-1"
        ids.append(rid)
        box.put({"id": rid, "run_id": f"run-{rid}", "name": rng.choice(["Approve", "Review"]), "version": 1,
                 "status": rng.choice(STATUSES), "query": "probe", "requester": "r@example.com",
                 "created_at": f"2026-12-07T10:00:{rng.randint(0, 9):02d}.{rng.choice([0, 0, 500]):03d}+00:00",
                 "users": rng.sample(users, rng.randint(0, 2)), "groups": rng.sample(groups, rng.randint(0, 2))})
    for rid in rng.sample(ids, count // 20):
        box.redis.hdel(f"{PREFIX}req:{rid}", "doc")


def _all_pages(box: Inbox, who: Identity, status: str, limit: int, step_by_step: bool) -> list[tuple[list, str | None]]:
    pages, cursor = [], None
    for _ in range(200):
        page = box.list_for(who, status=status, limit=limit, cursor=cursor,
                            admit=(lambda text: text) if step_by_step else None)
        pages.append((page.raw_items, page.next_cursor))
        cursor = page.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("paging never ended")


@pytest.mark.parametrize("seed", range(6))
def test_a_page_read_in_one_call_is_the_page_read_step_by_step(redis_url: str, seed: int):
    rng = random.Random(seed)
    box = Inbox(redis.Redis.from_url(redis_url))
    users = [person(f"u{i}") for i in range(4)]
    groups = [f"g-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    _seed(box, rng, users, groups, rng.choice([30, 120, 260]))  # 260: group keys past a first read (doubling)
    for who in (Identity(user=users[0]), Identity(user=users[1], groups=groups[:2]), Identity(user="", groups=groups),
                Identity(user=person("nobody"))):
        for status in STATUSES:
            for limit in (1, 3, 10, 100):
                one_call = _all_pages(box, who, status, limit, step_by_step=False)
                assert one_call == _all_pages(box, who, status, limit, step_by_step=True), (who, status, limit)


@pytest.fixture
def commands_sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The Redis commands this thread sends (their names)."""
    sent: list[bytes] = []
    me, send = threading.get_ident(), AbstractConnection.send_packed_command

    def counting(connection, command, check_health=True):
        if threading.get_ident() == me:
            first = command[0] if isinstance(command, list) else command
            sent.append(bytes(first).split(b"\r\n")[2])
        return send(connection, command, check_health)
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    yield sent


def test_an_inbox_page_is_one_redis_command(client, commands_sent):
    who = person("one-call")
    client.get("/api/v1/requests", headers=auth(APP_KEY, user=who))  # the key is known, the script loaded
    commands_sent.clear()
    answer = client.get("/api/v1/requests?limit=5", headers=auth(APP_KEY, user=who))
    assert answer.status_code == 200 and answer.json == {"requests": [], "next_cursor": None}
    assert commands_sent == [b"EVALSHA"], "admission, inbox mark, absences and page in one call"
    etag = answer.headers["ETag"]
    again = client.get("/api/v1/requests?limit=5", headers={**auth(APP_KEY, user=who), "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag


def test_a_lost_inbox_is_rebuilt_before_the_page_is_answered(client):
    inbox = client.application.extensions["workflows"].inbox
    inbox.redis.delete(BUILT_KEY)
    assert client.get("/api/v1/requests", headers=auth(APP_KEY, user=person("after-loss"))).status_code == 200
    assert inbox.redis.exists(BUILT_KEY), "rebuilt from Temporal, and marked"


@pytest.fixture(scope="module")
def limited_inbox(settings: Settings, worker) -> Iterator[Flask]:
    yield from serve_app(settings.with_overrides(rate_limit_key=None, rate_limit_user="3/minute",
                                                 rate_limit_failed_auth="4/minute"))


def test_an_inbox_page_is_admitted_in_the_call_that_reads_it(limited_inbox, monkeypatch):
    def on_its_own(*args, **kwargs):
        raise AssertionError("the page was admitted in a Redis call of its own")
    monkeypatch.setattr(rate_limits, "_script", on_its_own)
    client, reader = limited_inbox.test_client(), person("reader")
    codes = [client.get("/api/v1/requests", headers=auth(APP_KEY, user=reader)).status_code for _ in range(3)]
    assert codes == [200] * 3
    assert_429(client.get("/api/v1/requests", headers=auth(APP_KEY, user=reader)))


@pytest.mark.parametrize("early", ["/api/v1/requests?limit=0", "/api/v1/requests?status=lost"])
def test_a_page_refused_before_it_is_read_still_counts(limited_inbox, early):
    client, reader = limited_inbox.test_client(), person("careless")
    assert client.get(early, headers=auth(APP_KEY, user=reader)).status_code == 422
    assert client.options("/api/v1/requests", headers=auth(APP_KEY, user=reader)).status_code == 200
    assert client.get("/api/v1/requests", headers=auth(APP_KEY, user=reader)).status_code == 200
    assert_429(client.get(early, headers=auth(APP_KEY, user=reader)))  # the fourth: over the limit, 429 first


def test_a_blocked_address_gets_429_on_the_inbox_before_its_identity_is_required(limited_inbox):
    client, here = limited_inbox.test_client(), address()
    wrong = {"Authorization": "Bearer wrong-key-0123456789"}
    assert [client.get("/api/v1/requests", headers=wrong, environ_base=here).status_code
            for _ in range(4)] == [401] * 4
    assert_429(client.get("/api/v1/requests", headers=auth(APP_KEY), environ_base=here))  # no user named
    assert client.get("/api/v1/requests", headers=auth(APP_KEY), environ_base=address()).status_code == 400


def test_a_name_filter_is_still_answered(client):
    assert inbox_ids(client, person("named"), name="Approve") == []


def _query_strings(rng: random.Random) -> Iterator[str]:
    values = {"status": ["pending", "resolved", "expired", "cancelled", "", "Pending", "lost", " pending"],
              "limit": ["10", "1", "100", "0", "101", "050", "", "+5", " 5", "5_0", "٣", "1e1", "10.0", "-1"],
              "name": ["Approve", "", "x" * 200, "x" * 201, "Ünïcode name", "a b"],
              "cursor": ["1767225600000:run-1:000000000000-1", "", "12:abc\n", "abc:1", "1:", "١٢:x", "12:é"],
              "other": ["1"], "Status": ["pending"]}
    for _ in range(400):
        names = rng.sample(sorted(values), rng.randint(0, 4)) + (["status"] if rng.random() < 0.1 else [])
        yield "&".join(f"{quote(n)}={quote(rng.choice(values[n]))}" for n in names)


def test_plain_query_arguments_load_as_the_schema_loads_them():
    schema, rng = RequestListArgs(), random.Random(26)
    defaults = schema.load({})
    plain = 0
    for query in _query_strings(rng):
        args = MultiDict(parse_qsl(query, keep_blank_values=True))
        quick = plain_args(schema, args, defaults)
        try:
            loaded = schema.load(MultiDictProxy(args, schema))
        except ValidationError:
            loaded = None
        if quick is not None:
            plain += 1
            assert quick == loaded, query
    assert plain > 100, "most of the plain queries took the quick way"


def test_arguments_the_schema_refuses_are_refused_as_before(client):
    who = person("args")
    for query in ("limit=0", "status=lost", "other=1", "limit=1e1", "cursor=abc", "name=" + "x" * 201):
        answer = client.get(f"/api/v1/requests?{query}", headers=auth(APP_KEY, user=who))
        assert answer.status_code == 422 and answer.json["error"]["code"] == "validation_failed", (query, answer.json)
    assert client.get("/api/v1/requests?status=&limit=&cursor=&name=",
                      headers=auth(APP_KEY, user=who)).json == {"requests": [], "next_cursor": None}
