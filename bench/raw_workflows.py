"""The raw Temporal baseline the benchmarks compare against: no plugin code at all."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow


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
