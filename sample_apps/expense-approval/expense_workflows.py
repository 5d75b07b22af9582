"""The expense approval workflow: small amounts pass, larger ones wait for a manager."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.models import AssignRequest, RunInput
    from plugin.engine.registry import register_workflow

AUTO_APPROVE_LIMIT = 100


@register_workflow
@workflow.defn(name="expense_approval")
class ExpenseApproval(PluginWorkflow):
    """Approve an expense claim: at once up to the limit, otherwise by someone in ``managers``."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        self.begin(inp)
        claim = inp.data
        if claim["amount"] <= AUTO_APPROVE_LIMIT:
            return {"approved": True, "decision": {"by": "policy", "resolution": "Approve",
                                                   "at": workflow.now().isoformat(),
                                                   "comment": f"Up to {AUTO_APPROVE_LIMIT} is approved at once"}}
        outcome = await self.assign_request(AssignRequest(
            name="Approve expense",
            message=f"{claim['employee']} asks for {claim['amount']:.2f}: {claim['description']}",
            resolutions=["Approve", "Reject"],
            metadata={"employee": claim["employee"], "amount": claim["amount"]},
            groups=["managers"],
        ))
        return {
            "approved": outcome.resolution == "Approve",
            "decision": {"by": ", ".join(outcome.decided_by), "resolution": outcome.resolution,
                         "at": outcome.decided_at, "comment": outcome.comment},
        }
