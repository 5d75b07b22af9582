"""Marks that a part of the deployment is down, for ``/readyz``: ``up`` sets one while it restarts a child
(a dead worker still shows as a poller in Temporal for a minute or more) and clears it once the child is back."""

from __future__ import annotations

import redis

from plugin.store.inbox import PREFIX

MARK_PREFIX = f"{PREFIX}health:down:"
MARK_TTL_SECONDS = 120  # renewed while the part stays down; a mark left by a killed ``up`` goes by itself


def mark_down(client: redis.Redis, part: str, why: str) -> None:
    """Say that ``part`` (``worker``, ``api``, ``temporal``, ``redis``) is down and why."""
    client.set(f"{MARK_PREFIX}{part}", why, ex=MARK_TTL_SECONDS)


def clear(client: redis.Redis, part: str) -> None:
    """``part`` is back."""
    client.delete(f"{MARK_PREFIX}{part}")


def down_parts(client: redis.Redis) -> dict[str, str]:
    """The parts marked down, with why."""
    keys = list(client.scan_iter(match=f"{MARK_PREFIX}*", count=100))
    values = client.mget(keys) if keys else []
    out: dict[str, str] = {}
    for key, value in zip(keys, values, strict=True):
        if value is not None:
            name = key.decode() if isinstance(key, bytes) else key
            out[name.removeprefix(MARK_PREFIX)] = value.decode() if isinstance(value, bytes) else value
    return out
