"""A test workflow: opens the requests its input describes, in sequence (a loop) or all at once."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.registry import register_workflow
    from plugin.models import AssignRequest, FormField, RunInput


@register_workflow
@workflow.defn(name="approval_probe")
class ApprovalProbe(PluginWorkflow):
    """Each item of ``input.requests`` is the keyword arguments of an AssignRequest; ``input.sleep_after``
    (seconds) keeps the run going after its requests are settled."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        self.begin(inp)
        options = [AssignRequest(**{**spec, "form": [FormField(**f) for f in spec.get("form", [])]})
                   for spec in inp.data["requests"]]
        if inp.data.get("parallel"):
            outcomes = await asyncio.gather(*(self._one(o) for o in options))
        else:
            outcomes = [await self._one(o) for o in options]
        if inp.data.get("sleep_after"):  # the run goes on after its decisions
            await workflow.sleep(inp.data["sleep_after"])
        return {"outcomes": list(outcomes)}

    async def _one(self, options: AssignRequest) -> dict[str, Any]:
        try:
            outcome = await self.assign_request(options)
        except ApplicationError as exc:
            return {"name": options.name, "error": exc.type}
        return {"name": options.name, "resolution": outcome.resolution, "decided_by": outcome.decided_by,
                "payload": outcome.payload, "comment": outcome.comment}
