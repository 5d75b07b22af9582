"""A workflow for the run tests: what it does (sleep, fail, child, timers...) comes from its input."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.registry import register_workflow
    from plugin.models import RunInput


@register_workflow
@workflow.defn(name="runs_lab_child")
class RunsLabChild:
    """A child that answers at once."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        return {"child": inp.data}


@register_workflow
@workflow.defn(name="runs_lab")
class RunsLab(PluginWorkflow):
    """Sleeps, runs timers, a child, an activity nobody serves, continues as new or fails, as asked."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        self.begin(inp)
        data = inp.data
        if data.get("sleep"):
            await workflow.sleep(data["sleep"])
        if data.get("timers"):  # in parallel: the dev server fires timers about once a second
            await asyncio.gather(*(workflow.sleep(0.001) for _ in range(data["timers"])))
        if data.get("child"):
            await workflow.execute_child_workflow(
                "runs_lab_child", RunInput(data={"from": "parent"}), id=f"{workflow.info().workflow_id}-child")
        if data.get("missing_activity"):
            await workflow.execute_activity(
                "runs_lab_nobody_serves_this", start_to_close_timeout=timedelta(seconds=1),
                schedule_to_close_timeout=timedelta(seconds=2), retry_policy=RetryPolicy(maximum_attempts=2))
        if data.get("continue_times"):
            workflow.continue_as_new(RunInput(data={**data, "continue_times": data["continue_times"] - 1},
                                              query=inp.query, started_by=inp.started_by, app=inp.app))
        if data.get("fail"):
            raise ApplicationError(data["fail"], type="LabFailure", non_retryable=True)
        return {"echo": data.get("value")}
