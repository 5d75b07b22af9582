"""Temporal facts for the settings page's health section: server version, workers, backlog, runs per query."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

from plugin.gateway_ops.health import POLLER_FRESHNESS
from plugin.search_attributes import QUERY, WAITING

FAILED_WINDOW = timedelta(hours=24)


async def server_version(client: Client) -> str:
    """The Temporal server's version, as it reports it."""
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    return info.server_version or "unknown"


async def workers(client: Client, task_queue: str) -> dict[str, Any]:
    """The pollers of the task queue (workflow and activity), when each was last seen, and the backlog."""
    now = datetime.now(UTC)
    pollers: dict[str, dict[str, Any]] = {}
    backlog = 0
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind,
            report_stats=True))
        backlog += response.stats.approximate_backlog_count if response.HasField("stats") else 0
        for poller in response.pollers:
            seen = poller.last_access_time.ToDatetime(tzinfo=UTC)
            entry = pollers.setdefault(poller.identity, {"identity": poller.identity, "last_seen_at": seen})
            entry["last_seen_at"] = max(entry["last_seen_at"], seen)
    listed = sorted(pollers.values(), key=lambda p: p["last_seen_at"], reverse=True)
    for entry in listed:
        entry["alive"] = now - entry["last_seen_at"] <= POLLER_FRESHNESS
        entry["last_seen_at"] = entry["last_seen_at"].isoformat(timespec="seconds")
    return {"task_queue": task_queue, "pollers": listed, "alive": sum(1 for p in listed if p["alive"]),
            "backlog": backlog}


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def runs_per_query(client: Client, queries: list[str]) -> list[dict[str, Any]]:
    """For each query: runs open now, of which waiting for a person, and runs failed in the last 24 hours."""
    since = (datetime.now(UTC) - FAILED_WINDOW).isoformat(timespec="seconds")

    async def count(query: str) -> int:
        return (await client.count_workflows(query)).count

    async def one(name: str) -> dict[str, Any]:
        base = f"{QUERY.name} = {_quoted(name)}"
        running, waiting, failed = await asyncio.gather(
            count(f"{base} AND ExecutionStatus = 'Running'"),
            count(f"{base} AND ExecutionStatus = 'Running' AND {WAITING.name} = true"),
            count(f"{base} AND ExecutionStatus = 'Failed' AND CloseTime > '{since}'"))
        return {"query": name, "open": running, "waiting": waiting, "failed_24h": failed}

    return list(await asyncio.gather(*(one(name) for name in queries)))
