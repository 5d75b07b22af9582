"""Rebuild the inbox read model from Temporal, the system of record: by command, at worker start-up, and
whenever the API finds it missing (say, after Redis lost its data)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from temporalio.client import Client

from plugin.gateway_ops.requests import open_run_requests, stale_requests
from plugin.store.inbox import PREFIX, Inbox

log = logging.getLogger(__name__)

BUILT_KEY = f"{PREFIX}inbox:built"
LOCK_KEY = f"{PREFIX}inbox:rebuilding"


async def rebuild_inbox(client: Client, inbox: Inbox, task_queue: str) -> int:
    """Write every open run's requests into the inbox (versioned writes: never older over newer), then close
    out requests still listed as pending that no run can settle any more (their run ended while nobody
    looked, or was replaced under a business key). Returns how many requests the open runs hold."""
    requests = await open_run_requests(client, task_queue)

    def write() -> set[str]:
        for request in requests:
            inbox.put(request)
        inbox.redis.set(BUILT_KEY, str(time.time()))
        return inbox.pending_ids() - {r.id for r in requests}

    unaccounted = await asyncio.to_thread(write)
    if unaccounted:
        # Visibility may not list a run started a moment ago: each candidate's run is asked directly.
        stale = await stale_requests(client, unaccounted)
        now = datetime.now(UTC).isoformat()
        closed = await asyncio.to_thread(lambda: sum(inbox.close_out(i, now) for i in stale))
        if closed:
            log.info("inbox: %d pending requests of ended runs closed out as cancelled", closed)
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
