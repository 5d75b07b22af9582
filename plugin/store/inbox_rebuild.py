"""Rebuild the inbox read model from Temporal, the system of record: by command, at worker start-up, and
whenever the API finds it missing (say, after Redis lost its data)."""

from __future__ import annotations

import asyncio
import time

from temporalio.client import Client

from plugin.gateway_ops.requests import open_run_requests
from plugin.store.inbox import PREFIX, Inbox

BUILT_KEY = f"{PREFIX}inbox:built"
LOCK_KEY = f"{PREFIX}inbox:rebuilding"


async def rebuild_inbox(client: Client, inbox: Inbox, task_queue: str) -> int:
    """Write every open run's requests into the inbox (versioned writes: never older over newer)."""
    requests = await open_run_requests(client, task_queue)

    def write() -> None:
        for request in requests:
            inbox.put(request)
        inbox.redis.set(BUILT_KEY, str(time.time()))

    await asyncio.to_thread(write)
    return len(requests)


def inbox_is_built(inbox: Inbox) -> bool:
    """True when the inbox has been built since Redis last lost its data."""
    return bool(inbox.redis.exists(BUILT_KEY))


def claim_rebuild(inbox: Inbox, seconds: int = 60) -> bool:
    """Take the rebuild lock, so one process rebuilds while the others wait."""
    return bool(inbox.redis.set(LOCK_KEY, "1", nx=True, ex=seconds))


def release_rebuild(inbox: Inbox) -> None:
    """Give the rebuild lock back."""
    inbox.redis.delete(LOCK_KEY)
