"""Scripts called straight on a kept connection (plugin.store.scripts) answer exactly as redis-py's Script does,
and recover the way it does: a server that forgot the script, a connection that died, a Lua error."""

from __future__ import annotations

import os

import pytest
import redis

from plugin.store import scripts
from plugin.store.connection import connect

ECHO = "redis.call('INCR', KEYS[1]); return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1, redis.call('GET', KEYS[1])}"


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    from plugin.config import Settings

    return connect(Settings(redis_url=redis_url))


def _key() -> str:
    return f"test:scripts:{os.urandom(6).hex()}"


def test_answers_as_redis_py_does(client: redis.Redis) -> None:
    key = _key()
    fast, plain = scripts.register(client, ECHO), client.register_script(ECHO)
    assert fast(keys=[key], args=["a", 41]) == [key.encode(), b"a", 42, b"1"]
    assert plain(keys=[key], args=["a", 41]) == [key.encode(), b"a", 42, b"2"]
    assert fast(keys=[key], args=["a", 1]) == [key.encode(), b"a", 2, b"3"]


def test_runs_on_a_kept_connection(client: redis.Redis) -> None:
    fast, key = scripts.register(client, ECHO), _key()
    fast(keys=[key], args=["a", 1])
    lane = client.connection_pool._workflows_script_lane
    kept = list(lane.idle)
    assert kept, "the connection was not kept for the next call"
    fast(keys=[key], args=["a", 1])
    assert lane.idle == kept  # the same connection served again


def test_a_forgotten_script_is_loaded_again(client: redis.Redis) -> None:
    fast, key = scripts.register(client, ECHO), _key()
    fast(keys=[key], args=["a", 1])
    client.script_flush()
    assert fast(keys=[key], args=["b", 2]) == [key.encode(), b"b", 3, b"2"]


def test_a_dead_connection_is_replaced(client: redis.Redis) -> None:
    fast, key = scripts.register(client, ECHO), _key()
    fast(keys=[key], args=["a", 1])
    for connection in client.connection_pool._workflows_script_lane.idle:
        connection._sock.close()  # as if the server had gone away under it
    assert fast(keys=[key], args=["a", 1]) == [key.encode(), b"a", 2, b"2"]


def test_a_lua_error_is_raised_and_the_connection_kept(client: redis.Redis) -> None:
    fast = scripts.register(client, "return redis.error_reply('no such thing')")
    with pytest.raises(redis.ResponseError, match="no such thing"):
        fast(keys=[], args=[])
    echo, key = scripts.register(client, ECHO), _key()
    assert echo(keys=[key], args=["a", 1]) == [key.encode(), b"a", 2, b"1"]


def test_a_forked_process_does_not_use_its_parents_connections(client: redis.Redis) -> None:
    fast, key = scripts.register(client, ECHO), _key()
    fast(keys=[key], args=["a", 1])
    parent_kept = list(client.connection_pool._workflows_script_lane.idle)
    pid = os.fork()
    if pid == 0:  # the child: a call must work, on a connection of its own
        try:
            ok = fast(keys=[key], args=["a", 1])[3] == b"2"
            ok = ok and all(c not in parent_kept for c in client.connection_pool._workflows_script_lane.idle)
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert fast(keys=[key], args=["a", 1])[3] == b"3"  # the parent's connection still works


def _trip(client: redis.Redis, key: str, *extra: scripts.Call) -> list[scripts.Call]:
    echo = scripts.register(client, ECHO)
    return [scripts.Call(echo, [key], ["a", 1]), *extra, scripts.Call(echo, [key], ["b", 10])]


def test_calls_made_in_one_trip_answer_in_order_as_one_by_one(client: redis.Redis) -> None:
    key = _key()
    calls = _trip(client, key)
    scripts.run_in_one_trip(calls[:1])  # the connection is kept, and the script known
    lane = client.connection_pool._workflows_script_lane
    kept = list(lane.idle)
    sent: list[bytes] = []
    connection = kept[-1]
    send = connection.send_packed_command
    connection.send_packed_command = lambda packed, **kw: (sent.append(packed), send(packed, **kw))[1]
    try:
        answers = scripts.run_in_one_trip(calls)
    finally:
        del connection.send_packed_command
    assert answers == [[key.encode(), b"a", 2, b"2"], [key.encode(), b"b", 11, b"3"]]
    assert len(sent) == 1, "the calls were not sent together"
    assert lane.idle == kept


def test_a_forgotten_script_in_a_trip_is_loaded_and_the_calls_made_again_from_it(client: redis.Redis) -> None:
    key = _key()
    known = scripts.register(client, "return redis.call('INCR', KEYS[1])")
    scripts.run_in_one_trip([scripts.Call(known, [key + ":n"], [])])
    client.script_flush()
    answers = scripts.run_in_one_trip(_trip(client, key))
    assert answers == [[key.encode(), b"a", 2, b"1"], [key.encode(), b"b", 11, b"2"]]


def test_a_dead_connection_in_a_trip_is_replaced(client: redis.Redis) -> None:
    key = _key()
    calls = _trip(client, key)
    scripts.run_in_one_trip(calls)
    for connection in client.connection_pool._workflows_script_lane.idle:
        connection._sock.close()
    assert [a[3] for a in scripts.run_in_one_trip(calls)] == [b"3", b"4"]


def test_a_lua_error_in_a_trip_is_raised_after_the_others_ran(client: redis.Redis) -> None:
    key = _key()
    failing = scripts.Call(scripts.register(client, "return redis.error_reply('no such thing')"), [], [])
    with pytest.raises(redis.ResponseError, match="no such thing"):
        scripts.run_in_one_trip(_trip(client, key, failing))
    assert client.get(key) == b"2"  # both echoes ran
    assert scripts.run_in_one_trip(_trip(client, key))[1][3] == b"4"  # the connection is still in step
