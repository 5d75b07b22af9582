"""The worker: runs every registered workflow and the activities on the plugin's task queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from plugin.config import Settings
from plugin.engine.activities import ReadModelActivities
from plugin.engine.calls.http_activity import HttpActivities
from plugin.engine.calls.sql_activity import SqlActivities
from plugin.engine.run_snapshots import RunSnapshotInterceptor, SnapshotActivities
from plugin.engine.slack.service import slack_part
from plugin.engine.update_auth import UpdateAuthInterceptor
from plugin.gateway_ops.schedule_reconcile import reconcile_schedules
from plugin.identity.links import link_base, link_signer
from plugin.readmodel.inbox_rebuild import rebuild_inbox
from plugin.search_attributes import register_search_attributes
from plugin.secrets import SecretStore
from plugin.store.admin import worker_agreement
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.admin.shared_secrets import SharedSecrets
from plugin.store.connection import connect as connect_redis
from plugin.store.inbox import Inbox
from plugin.store.snapshots import RunSnapshots
from plugin.temporal_gateway import connect_client
from plugin.workspace.loader import Workspace, load_workspaces

log = logging.getLogger(__name__)


def build_worker(client: Client, settings: Settings, workspace: Workspace, executor: ThreadPoolExecutor,
                 inbox: Inbox) -> Worker:
    """A worker for the workspace's workflows with activities bound to the configured Redis."""
    snapshots = RunSnapshots(inbox.redis)
    runtime = RuntimeSettings(settings, inbox.redis)  # notify URL and allow-list changed without a restart
    secrets = SecretStore(settings.data_dir, shared=SharedSecrets(inbox.redis, settings.secrets_keys))
    http = HttpActivities(settings.http_allow_hosts, connections=workspace.connections, secrets=secrets,
                          runtime=runtime)
    activities = ReadModelActivities(inbox, inbox.redis, settings.notify_url, snapshots,
                                     link_signer(settings, inbox.redis), runtime, guard=http.guard)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(workspace.workflows.values()),
        activities=[*activities.all(), SnapshotActivities(snapshots, inbox).publish_run_snapshot,
                    *http.all(),
                    *SqlActivities(workspace.connections, secrets).all()],
        interceptors=[RunSnapshotInterceptor(),
                      *([UpdateAuthInterceptor(settings.decision_secret)] if settings.decision_secret else [])],
        activity_executor=executor,
        max_concurrent_activities=32,
        max_cached_workflows=settings.worker_cached_runs,
        # 8, not the SDK's 100: a task is Python under one GIL, and each one at once is a thread and an activation's
        # memory (worker RSS after bench_runs 125-149 -> 115-117 MB: docs/performance.md, "Worker memory")
        max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
        # a heartbeat reaches Temporal within 2 s (not 80% of the heartbeat timeout): slack on a busy machine
        max_heartbeat_throttle_interval=timedelta(seconds=2),
        # on SIGTERM, running activities get this long to finish before they are cancelled (docs/production.md)
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace),
    )


def metrics_runtime(address: str | None) -> Runtime | None:
    """An SDK runtime whose Prometheus exporter serves the worker's metrics (the SDK's own: task and
    activity latencies, slots, polls... and ``workflows_runs_ended``) at ``address``; None without one."""
    if not address:
        return None
    exporter = PrometheusConfig(bind_address=address, counters_total_suffix=True, unit_suffix=True,
                                durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=exporter))


async def run_worker(settings: Settings, stop: asyncio.Event | None = None,
                     on_ready: Callable[[], None] | None = None) -> None:
    """Connect, register search attributes, and poll until ``stop`` is set (or forever).

    ``on_ready`` is called once the worker is polling.
    """
    workspace = load_workspaces(settings.workspaces)
    client = await connect_client(settings, runtime=metrics_runtime(settings.worker_metrics_address))
    await register_search_attributes(client)
    inbox = Inbox(connect_redis(settings))
    worker_agreement.publish(inbox.redis, settings.task_queue, settings.decision_secret, link_base(settings))
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="activity") as executor:
        worker = build_worker(client, settings, workspace, executor, inbox)
        log.info("worker polling %s with workflows %s", settings.task_queue, sorted(workspace.workflows))
        if not settings.decision_secret:
            log.warning("WORKFLOWS_DECISION_SECRET is not set: decisions sent straight to Temporal, bypassing the "
                        "API, are accepted (docs/production.md)")
        secrets = SecretStore(settings.data_dir, shared=SharedSecrets(inbox.redis, settings.secrets_keys))
        async with worker, slack_part(client, settings, workspace.slack, inbox, secrets, executor):
            # Queries need a polling worker, so the inbox is rebuilt once this one polls.
            rebuild = asyncio.create_task(_rebuild(client, inbox, settings.task_queue))
            reconcile = asyncio.create_task(_reconcile(client, workspace, settings.task_queue))
            if on_ready is not None:
                on_ready()
            await (stop or asyncio.Event()).wait()
            rebuild.cancel()
            reconcile.cancel()


async def _rebuild(client: Client, inbox: Inbox, task_queue: str) -> None:
    try:
        count = await rebuild_inbox(client, inbox, task_queue)
        log.info("inbox rebuilt from Temporal at start-up: %d requests", count)
    except Exception:  # the API rebuilds on demand if this did not finish
        log.exception("inbox rebuild at start-up failed")


async def _reconcile(client: Client, workspace: Workspace, task_queue: str) -> None:
    try:
        report = await reconcile_schedules(client, workspace.schedules, workspace.queries, task_queue)
        log.info("workspace schedules reconciled: %s", report)
    except Exception:  # the next worker start tries again; API-made schedules are unaffected
        log.exception("reconciling the workspace's schedules failed")
