"""The expense approval workflow: small amounts pass at once, a manager decides the rest (reminded, then
escalated to a director, rejected when nobody decides in time), and large ones also need two people in finance.

The manager who is named on the request (and so gets signed approval links) comes from the company directory
the workspace owns (its ``directory`` connection), looked up for the person who submitted the claim: never from
the claim itself, where a requester could name an accomplice.

The policy (limits and timing) is a dataclass with the company's defaults. A query may pin another policy
through a ``policy`` input property with a ``default`` (tests do, to run on a fast clock); the sample's own
query declares no such property, so a caller cannot change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.calls.connection_calls import connection_http
    from plugin.engine.registry import register_workflow
    from plugin.models import AssignRequest, FormField, RunInput

DAY = 24 * 3600
AUTO_APPROVE_LIMIT = 100
MANAGER_FROM_DIRECTORY = "manager-from-directory"  # runs started before took the claim's ``manager``


@dataclass
class ExpensePolicy:
    """Who must approve what, and how long they have."""

    auto_approve_limit: float = AUTO_APPROVE_LIMIT
    finance_threshold: float = 5000
    finance_quorum: int = 2
    manager_due_seconds: float = 5 * DAY
    remind_every_seconds: float = DAY
    escalate_after_seconds: float = 3 * DAY
    finance_due_seconds: float = 7 * DAY


def _decision(by: str, resolution: str, at: str, comment: str = "") -> dict[str, Any]:
    return {"by": by, "resolution": resolution, "at": at, "comment": comment}


@register_workflow
@workflow.defn(name="expense_approval")
class ExpenseApproval(PluginWorkflow):
    """Approve an expense claim by the amount: at once, by a manager, or by a manager and a finance quorum."""

    START_PATCHES = (MANAGER_FROM_DIRECTORY,)

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        self.begin(inp)
        if workflow.patched(MANAGER_FROM_DIRECTORY):
            manager = await self._manager_of(inp.started_by)
        else:
            manager = inp.data.get("manager")
        result = await self._decide(inp.data, ExpensePolicy(**inp.data.get("policy", {})), manager)
        result["notified"] = await self._announce(inp.data, result)
        return result

    async def _manager_of(self, person: str) -> str | None:
        """The person's manager in the workspace's directory; None when it does not know them or cannot be
        reached (then anyone in ``managers`` decides in the inbox, without a named manager's links)."""
        if "@" not in person:  # started by a webhook or an admin key: nobody to look up
            return None
        try:
            answer = await connection_http("directory", "/people/{email}", path_params={"email": person},
                                           timeout_seconds=5, max_attempts=2, accept_status=[404])
        except (ActivityError, ApplicationError):
            return None
        found = answer.body.get("manager") if answer.status == 200 and isinstance(answer.body, dict) else None
        return found.lower() if isinstance(found, str) and "@" in found and found.lower() != person else None

    async def _decide(self, claim: dict[str, Any], policy: ExpensePolicy, manager_email: str | None) -> dict[str, Any]:
        """The approvals the amount needs, in order; the last one decides."""
        amount = claim["amount"]
        if amount <= policy.auto_approve_limit:
            decision = {"step": "policy", **_decision("policy", "Approve", workflow.now().isoformat(),
                                                      f"Up to {policy.auto_approve_limit:g} is approved at once")}
            return {"approved": True, "decision": decision, "approvals": [decision]}

        details = {"employee": claim["employee"], "amount": amount, "description": claim["description"]}
        manager = await self._ask("manager", AssignRequest(
            name="Approve expense",
            message=f"{claim['employee']} asks for {amount:.2f}: {claim['description']}",
            resolutions=["Approve", "Reject"],
            metadata=details,
            users=[manager_email] if manager_email else [],
            groups=["managers"],
            due_in_seconds=policy.manager_due_seconds,
            remind_every_seconds=policy.remind_every_seconds,
            escalate_after_seconds=policy.escalate_after_seconds,
            escalate_to_groups=["directors"],
        ))
        approvals = [manager]
        if manager["resolution"] == "Approve" and amount > policy.finance_threshold:
            approvals.append(await self._ask("finance", AssignRequest(
                name="Finance check",
                message=f"{amount:.2f} for {claim['employee']}, approved by {manager['by']}: "
                        f"{policy.finance_quorum} people in finance must agree",
                resolutions=["Approve", "Reject"],
                metadata={**details, "manager": manager["by"]},
                groups=["finance"],
                required_approvals=policy.finance_quorum,
                form=[FormField(name="cost_center", label="Cost center", max_length=20)],
                due_in_seconds=policy.finance_due_seconds,
            )))
        return {"approved": approvals[-1]["resolution"] == "Approve", "decision": approvals[-1],
                "approvals": approvals}

    async def _announce(self, claim: dict[str, Any], result: dict[str, Any]) -> bool:
        """Post the outcome to the team chat through the workspace's ``team_chat`` connection. A chat that
        cannot be reached is recorded as ``notified: false``; it never changes the decision."""
        verdict = "approved" if result["approved"] else "rejected"
        text = f"Expense of {claim['amount']:.2f} by {claim['employee']} {verdict} by {result['decision']['by']}"
        try:
            await connection_http("team_chat", "/messages", "POST", body={"channel": "expenses", "text": text},
                                  timeout_seconds=5, max_attempts=3)
        except ActivityError:
            return False
        return True

    async def _ask(self, step: str, request: AssignRequest) -> dict[str, Any]:
        """One approval step's decision; nobody deciding by the due time is a rejection by policy."""
        try:
            outcome = await self.assign_request(request)
        except ApplicationError as err:
            if err.type != "RequestExpired":
                raise
            return {"step": step, **_decision("policy", "Reject", workflow.now().isoformat(),
                                              "Nobody decided by the due time")}
        return {**outcome.payload, "step": step,
                **_decision(", ".join(outcome.decided_by), outcome.resolution, outcome.decided_at, outcome.comment)}
