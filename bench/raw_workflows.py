"""The raw Temporal baseline the benchmarks compare against: no plugin code at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass
class RawDecision:
    """The raw workflow's update input."""

    resolution: str


@workflow.defn(name="bench_raw_approval")
class RawApproval:
    """The least a Temporal approval can be: wait for one update, then finish."""

    def __init__(self) -> None:
        self.resolution: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.resolution is not None)
        return self.resolution or ""

    @workflow.update
    async def decide(self, decision: RawDecision) -> str:
        """Record the decision."""
        self.resolution = decision.resolution
        return decision.resolution

    @decide.validator
    def _check(self, decision: RawDecision) -> None:
        if self.resolution is not None:
            raise ValueError("already decided")


@activity.defn(name="bench_noop")
def noop(decision: RawDecision) -> None:
    """Does nothing: the cost of a local activity itself."""


@workflow.defn(name="bench_raw_approval_local_activity")
class RawApprovalWithLocalActivity(RawApproval):
    """The raw approval plus one local activity that does nothing before it finishes: what writing the run's end
    snapshot from the closing workflow task costs Temporal and the SDK, without the plugin's own work."""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.resolution is not None)
        await workflow.execute_local_activity(noop, RawDecision(self.resolution or ""),
                                              start_to_close_timeout=timedelta(seconds=10))
        return self.resolution or ""
