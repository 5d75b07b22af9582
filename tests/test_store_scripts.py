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
