"""Lua scripts called on a hot path (a status read, an inbox page, a trigger's admission, a decision's lock), sent
straight on a connection the process keeps for them.

redis-py's ``Script.__call__`` takes a connection from the pool, wraps the call in its retry and observability
layers and gives the connection back: about 55 us of CPU per call here (py-spy on the API under status reads:
the pool's ``get_connection`` and ``release`` alone were 9% of a read), against about 25 us to send ``EVALSHA``
and read the answer on a connection already in hand. ``FastScript`` keeps a few connections of the client's pool
aside (taken from the pool, so its limits and settings apply) and calls the script on one of them; anything
unusual goes through redis-py's own path, so behaviour is unchanged:

- the server does not know the script yet (``NOSCRIPT``, e.g. after a restart): redis-py's call loads it;
- the connection fails or times out: it is dropped and the call is made again through redis-py, with its
  retries (what redis-py would do with the first attempt anyway);
- a Lua error is raised as redis-py raises it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.commands.core import Script
from redis.connection import ConnectionPool
from redis.exceptions import NoScriptError, ResponseError

# Connections kept aside per pool, idle; more than this go back to the pool after their call (the API's threads
# that call scripts at the same moment are few: the rest wait on sockets the pool hands out).
IDLE_KEPT = 8


class _Lane:
    """A pool's connections kept for scripts: a list used as a stack (``pop`` and ``append`` are atomic), dropped
    when the process has forked since (the parent's sockets are not this process's)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.pid = os.getpid()
        self.idle: list[Any] = []

    def take(self) -> Any:
        if self.pid != os.getpid():
            self.idle, self.pid = [], os.getpid()
        try:
            return self.idle.pop()
        except IndexError:
            return self.pool.get_connection()

    def give(self, connection: Any) -> None:
        if len(self.idle) < IDLE_KEPT and self.pid == os.getpid():
            self.idle.append(connection)
        else:
            self.pool.release(connection)

    def drop(self, connection: Any) -> None:
        connection.disconnect()
        self.pool.release(connection)


def _lane(pool: ConnectionPool) -> _Lane:
    lane = getattr(pool, "_workflows_script_lane", None)
    if lane is None:
        lane = pool._workflows_script_lane = _Lane(pool)  # type: ignore[attr-defined]
    return lane


class FastScript:
    """A registered Lua script, called like redis-py's ``Script`` (``script(keys=[...], args=[...])``)."""

    def __init__(self, client: redis.Redis, source: str) -> None:
        self.script: Script = client.register_script(source)
        pool = getattr(client, "connection_pool", None)
        self._lane = _lane(pool) if type(pool) is ConnectionPool else None  # a plain pool only

    def __call__(self, keys: Sequence[Any] = (), args: Iterable[Any] = ()) -> Any:
        """Run the script; its answer as redis-py's ``Script`` gives it."""
        lane = self._lane
        if lane is None:
            return self.script(keys=keys, args=args)
        args = tuple(args)
        connection = lane.take()
        try:
            connection.send_command("EVALSHA", self.script.sha, len(keys), *keys, *args)
            answer = connection.read_response()
        except NoScriptError:
            lane.give(connection)
            return self.script(keys=keys, args=args)  # loads it, then runs it
        except ResponseError:
            lane.give(connection)  # a Lua error: the connection is fine
            raise
        except (redis.ConnectionError, redis.TimeoutError):
            lane.drop(connection)
            return self.script(keys=keys, args=args)  # with redis-py's retries, as its first attempt would be
        except BaseException:
            lane.drop(connection)  # its state is unknown
            raise
        lane.give(connection)
        return answer


def register(client: redis.Redis, source: str) -> FastScript:
    """The script, ready to be called on ``client``'s Redis."""
    return FastScript(client, source)


@dataclass(frozen=True)
class Call:
    """One script call, to be made with others in one round trip (``run_in_one_trip``)."""

    script: FastScript
    keys: Sequence[Any]
    args: Sequence[Any]

    def __call__(self) -> Any:
        return self.script(keys=self.keys, args=self.args)


def run_in_one_trip(calls: Sequence[Call]) -> list[Any]:
    """Make the calls in order, sent together and answered together on one kept connection (one round trip to
    Redis instead of one each); their answers, in order. Each call must be idempotent: when the server does not
    know a script (``NOSCRIPT``, after a restart) or the connection fails, the calls are made again one by one
    through redis-py from the first that did not answer, as ``FastScript`` does for one call. A Lua error is
    raised as redis-py raises it (the first, once every answer is read)."""
    lane = calls[0].script._lane if calls else None
    if len(calls) < 2 or lane is None or any(call.script._lane is not lane for call in calls):
        return [call() for call in calls]
    connection = lane.take()
    answers: list[Any] = []
    try:
        connection.send_packed_command(connection.pack_commands(
            [("EVALSHA", call.script.script.sha, len(call.keys), *call.keys, *call.args) for call in calls]))
        for _ in calls:
            try:
                answers.append(connection.read_response())
            except ResponseError as exc:  # NOSCRIPT or a Lua error: that call's answer; the others still come
                answers.append(exc)
    except (redis.ConnectionError, redis.TimeoutError):
        lane.drop(connection)
    except BaseException:
        lane.drop(connection)  # its state is unknown
        raise
    else:
        lane.give(connection)
    again = len(answers)  # the first call to make again: none answered from here on
    for i, answer in enumerate(answers):
        if isinstance(answer, NoScriptError):
            again = i
            break
        if isinstance(answer, ResponseError):
            raise answer
    return answers[:again] + [call() for call in calls[again:]]  # redis-py's path loads a script it must
