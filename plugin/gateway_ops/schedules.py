"""Temporal Schedules for queries: create, describe, list, update, pause, trigger, backfill, delete.

A schedule lives in Temporal (it fires with no plugin process up and survives restarts). Its memo, set
once, says which plugin owns it (the task queue) and where it was declared; the schedule's own spec
document (query, input, cron...) travels in the memo of the runs it starts, so the plugin can show the
schedule as it was written (Temporal turns cron text into calendars).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from plugin import search_attributes as sa
from plugin.errors import Conflict, NotFound, ValidationFailed
from plugin.workspace.schedules import SchedulePlan

OWNER = "workflows_plugin"  # schedule memo: the owning plugin's task queue
ORIGIN = "workflows_origin"  # schedule memo: "api" or "workspace"
NEXT_RUNS_SHOWN = 5


def overlap_policy(name: str) -> ScheduleOverlapPolicy:
    """The Temporal overlap policy of a plugin name such as ``skip`` or ``buffer_all``."""
    return ScheduleOverlapPolicy[name.upper()]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def build_schedule(plan: SchedulePlan, paused: bool, note: str) -> Schedule:
    """The Temporal schedule of a plan, in the given state."""
    spec = plan.spec
    inp = plan.inp
    action = ScheduleActionStartWorkflow(
        plan.workflow, inp, id=plan.id, task_queue=plan.task_queue, execution_timeout=plan.execution_timeout,
        memo=plan.run_memo, typed_search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.QUERY, inp.query), SearchAttributePair(sa.STARTED_BY, inp.started_by),
            SearchAttributePair(sa.APP, inp.app), SearchAttributePair(sa.WAITING, False)]),
    )
    when = ScheduleSpec(
        cron_expressions=[spec["cron"]] if spec.get("cron") else [],
        intervals=[ScheduleIntervalSpec(every=timedelta(seconds=spec["interval_seconds"]))]
        if spec.get("interval_seconds") else [],
        start_at=_when(spec.get("start_at")), end_at=_when(spec.get("end_at")),
        jitter=timedelta(seconds=spec["jitter_seconds"]) if spec.get("jitter_seconds") else None,
        time_zone_name=spec.get("time_zone") if spec.get("cron") else None,
    )
    return Schedule(action=action, spec=when, policy=SchedulePolicy(overlap=overlap_policy(spec["overlap"])),
                    state=ScheduleState(note=note or None, paused=paused))


def _missing(schedule_id: str) -> NotFound:
    return NotFound(f"No schedule {schedule_id!r}; GET /api/v1/schedules lists them")


@contextmanager
def _answered(schedule_id: str, plan: SchedulePlan | None = None) -> Iterator[None]:
    """Temporal's refusals as the client's answers: a schedule deleted meanwhile (a racing DELETE) is a 404;
    a spec Temporal refuses although the plugin's checks passed is a 422 naming when it runs."""
    try:
        yield
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _missing(schedule_id) from None
        if plan is not None and exc.status == RPCStatusCode.INVALID_ARGUMENT:
            field = "cron" if plan.spec.get("cron") else "interval_seconds"
            message = f"Temporal refuses this schedule: {exc.message}"
            raise ValidationFailed(f"Invalid input: {field}: {message}", {"fields": {field: [message]}}) from None
        raise


async def create_schedule(client: Client, plan: SchedulePlan) -> None:
    """Create the schedule; Conflict when the id is taken."""
    try:
        with _answered(plan.id, plan):
            await client.create_schedule(plan.id, build_schedule(plan, plan.spec.get("paused", False),
                                                                 plan.spec.get("note", "")),
                                         memo={OWNER: plan.task_queue, ORIGIN: plan.spec["origin"]})
    except ScheduleAlreadyRunningError:
        raise Conflict(f"A schedule with id {plan.id!r} already exists; choose another id",
                       {"id": plan.id}) from None


async def owned(client: Client, schedule_id: str, task_queue: str) -> tuple[ScheduleHandle, ScheduleDescription]:
    """The schedule's handle and description; NotFound unless it exists and belongs to this plugin."""
    handle = client.get_schedule_handle(schedule_id)
    try:
        desc = await handle.describe()
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise _missing(schedule_id) from None
        raise
    if (await desc.memo()).get(OWNER) != task_queue:
        raise _missing(schedule_id)
    return handle, desc


def spec_of(client: Client, desc: ScheduleDescription) -> dict[str, Any]:
    """The schedule's spec document, as written (from its action's memo)."""
    action = desc.schedule.action
    raw = (getattr(action, "memo", None) or {}).get("schedule")
    if raw is None:
        return {}
    return raw if isinstance(raw, dict) else client.data_converter.payload_converter.from_payload(raw)


def view_of(client: Client, schedule_id: str, desc: ScheduleDescription) -> dict[str, Any]:
    """The schedule as the API shows it: spec, state, next run times and recent runs (without statuses)."""
    spec = {k: v for k, v in spec_of(client, desc).items() if k not in ("digest", "paused", "note")}
    state, info = desc.schedule.state, desc.info
    return {
        "id": schedule_id, **spec, "paused": state.paused, "note": state.note or "",
        "next_runs": [t.isoformat() for t in info.next_action_times[:NEXT_RUNS_SHOWN]],
        "recent_runs": [{"run_id": getattr(a.action, "workflow_id", None), "scheduled_at": a.scheduled_at.isoformat(),
                         "started_at": a.started_at.isoformat()} for a in reversed(info.recent_actions)],
        "running": [getattr(a, "workflow_id", None) for a in info.running_actions],
        "runs_started": info.num_actions, "created_at": info.created_at.isoformat(),
        "updated_at": info.last_updated_at.isoformat() if info.last_updated_at else None,
    }


async def describe_schedule(client: Client, schedule_id: str, task_queue: str) -> dict[str, Any]:
    """One schedule's view."""
    _, desc = await owned(client, schedule_id, task_queue)
    return view_of(client, schedule_id, desc)


async def owned_ids(client: Client, task_queue: str, origin: str | None = None, limit: int = 1000) -> list[str]:
    """Ids of this plugin's schedules (visibility may be a second behind), optionally of one origin."""
    ids: list[str] = []
    async for entry in await client.list_schedules(page_size=200):
        memo = await entry.memo()
        if memo.get(OWNER) == task_queue and (origin is None or memo.get(ORIGIN) == origin):
            ids.append(entry.id)
            if len(ids) >= limit:
                break
    return sorted(ids)


async def list_schedules(client: Client, task_queue: str, limit: int) -> list[dict[str, Any]]:
    """This plugin's schedules, each described (next run times, recent runs)."""
    ids = await owned_ids(client, task_queue, limit=limit)
    gate = asyncio.Semaphore(16)

    async def one(schedule_id: str) -> dict[str, Any] | None:
        async with gate:
            try:
                return await describe_schedule(client, schedule_id, task_queue)
            except NotFound:  # deleted since it was listed
                return None
    return [v for v in await asyncio.gather(*(one(i) for i in ids)) if v is not None]


async def update_schedule(client: Client, plan: SchedulePlan) -> None:
    """Replace the schedule's spec and action, keeping its paused state and note."""
    handle, _ = await owned(client, plan.id, plan.task_queue)

    def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        return ScheduleUpdate(schedule=build_schedule(plan, state.paused, state.note or ""))
    with _answered(plan.id, plan):
        await handle.update(updater)


async def pause_schedule(client: Client, schedule_id: str, task_queue: str, paused: bool, note: str) -> None:
    """Pause or resume, with a note saying why."""
    handle, _ = await owned(client, schedule_id, task_queue)
    with _answered(schedule_id):
        await (handle.pause(note=note) if paused else handle.unpause(note=note))


async def trigger_schedule(client: Client, schedule_id: str, task_queue: str, overlap: str) -> None:
    """Start one run now."""
    handle, _ = await owned(client, schedule_id, task_queue)
    with _answered(schedule_id):
        await handle.trigger(overlap=overlap_policy(overlap))


async def backfill_schedule(client: Client, schedule_id: str, task_queue: str, start_at: datetime,
                            end_at: datetime, overlap: str) -> None:
    """Start the runs the schedule would have started between the two times."""
    handle, _ = await owned(client, schedule_id, task_queue)
    with _answered(schedule_id):
        await handle.backfill(ScheduleBackfill(start_at=start_at, end_at=end_at, overlap=overlap_policy(overlap)))


async def delete_schedule(client: Client, schedule_id: str, task_queue: str) -> None:
    """Delete the schedule (runs it started go on)."""
    handle, _ = await owned(client, schedule_id, task_queue)
    with _answered(schedule_id):
        await handle.delete()
