"""Temporal operations about the deployment itself: is a worker polling the task queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

# Pollers report at least once per long poll (about a minute); older than this, the worker is gone.
POLLER_FRESHNESS = timedelta(seconds=90)


async def task_queue_pollers(client: Client, task_queue: str) -> int:
    """How many workers polled the task queue recently."""
    return len(await poller_identities(client, task_queue))


async def poller_identities(client: Client, task_queue: str) -> list[str]:
    """The identities (``pid@host`` by default) of the workers that polled the task queue recently."""
    response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    ))
    cutoff = datetime.now(UTC) - POLLER_FRESHNESS
    return [p.identity for p in response.pollers if p.last_access_time.ToDatetime(tzinfo=UTC) >= cutoff]
