"""The worker's Slack part: a Temporal worker for the per-request Slack workflows (their own task queue) and
the follower feeding them, made only when the workspace routes some query to Slack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from plugin.config import Settings
from plugin.engine.slack.follower import SlackFollower, slack_task_queue
from plugin.engine.slack.sync import SlackActivities
from plugin.engine.slack.workflow import SlackRequestMessages
from plugin.secrets import SecretStore
from plugin.store.inbox import Inbox
from plugin.store.slack import SlackStore


@contextlib.asynccontextmanager
async def slack_part(client: Client, settings: Settings, routing: dict[str, Any], inbox: Inbox,
                     secrets: SecretStore, executor: ThreadPoolExecutor) -> AsyncIterator[None]:
    """Run the Slack workflows' worker and the follower for the block's length (nothing without routing)."""
    if not (routing.get("queries") or {}):
        yield
        return
    activities = SlackActivities(inbox, SlackStore(inbox.redis), secrets, routing, settings.public_base_url)
    worker = Worker(client, task_queue=slack_task_queue(settings.task_queue), workflows=[SlackRequestMessages],
                    activities=activities.all(), activity_executor=executor, max_concurrent_activities=8)
    stop = asyncio.Event()
    async with worker:
        follower = asyncio.create_task(SlackFollower(client, inbox, routing, settings.task_queue).run(stop))
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait_for(follower, timeout=5)
