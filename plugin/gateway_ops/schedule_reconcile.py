"""Reconcile the schedules a workspace declares with Temporal, at worker start-up (any number of times).

Each declared schedule is created when missing, updated when its design changed (query, input, timing,
the query's definition version), and left alone when unchanged; its paused state and note are the
operators' and are never reset. A schedule created through the API under the same id is not touched,
and a workspace schedule that is no longer declared is reported as orphaned, never deleted silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from plugin.errors import Conflict
from plugin.gateway_ops.schedules import (
    ORIGIN,
    OWNER,
    create_schedule,
    owned_ids,
    spec_of,
    update_schedule,
)
from plugin.workspace.schedules import ORIGIN_WORKSPACE, plan_for

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    """What a reconcile did, by schedule id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the id is taken by a schedule not from the workspace
    orphaned: list[str] = field(default_factory=list)  # from the workspace once, no longer declared


async def reconcile_schedules(client: Client, declared: dict[str, dict[str, Any]], queries: dict[str, Any],
                              task_queue: str) -> ReconcileReport:
    """Make Temporal hold the declared schedules; see the module docstring for the rules."""
    report = ReconcileReport()
    for schedule_id, spec in sorted(declared.items()):
        plan = plan_for(schedule_id, spec, queries[spec["query"]], task_queue, ORIGIN_WORKSPACE)
        handle = client.get_schedule_handle(schedule_id)
        try:
            desc = await handle.describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            try:
                await create_schedule(client, plan)
                report.created.append(schedule_id)
            except Conflict:  # another worker created it meanwhile
                report.unchanged.append(schedule_id)
            continue
        memo = await desc.memo()
        if memo.get(OWNER) != task_queue or memo.get(ORIGIN) != ORIGIN_WORKSPACE:
            log.warning("schedule %s is declared in the workspace but exists already, not from it: left alone",
                        schedule_id)
            report.skipped.append(schedule_id)
        elif spec_of(client, desc).get("digest") == plan.digest:
            report.unchanged.append(schedule_id)
        else:
            await update_schedule(client, plan)
            report.updated.append(schedule_id)
    for schedule_id in await owned_ids(client, task_queue, origin=ORIGIN_WORKSPACE):
        if schedule_id not in declared:
            log.warning("schedule %s came from the workspace but is no longer declared: left alone; delete it "
                        "with DELETE /api/v1/schedules/%s if it should go", schedule_id, schedule_id)
            report.orphaned.append(schedule_id)
    return report
