"""Employee onboarding: IT, HR and the manager work in parallel (three requests open at once, each with a
form) while a child workflow per equipment item, read from the ``equipment_db`` SQL connection, reserves it or
orders it; and a daily digest of the items running low, started by the workspace's schedule."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from plugin.engine.base import PluginWorkflow
    from plugin.engine.calls.connection_calls import connection_sql
    from plugin.engine.registry import register_workflow
    from plugin.models import AssignRequest, FormField, RequestOutcome, RunInput


@dataclass
class EquipmentInput:
    """One item for one new employee."""

    item: str
    employee: str


@register_workflow
@workflow.defn(name="provision_equipment")
class ProvisionEquipment:
    """A child per item: reserve it when it is in stock, else order it (the lead time comes from the list)."""

    @workflow.run
    async def run(self, inp: EquipmentInput) -> dict[str, Any]:
        found = await connection_sql("equipment_db", "SELECT in_stock, lead_days FROM equipment WHERE item = :item",
                                     {"item": inp.item}, mode="one")
        row = found["row"]
        if row["in_stock"] > 0:
            return {"item": inp.item, "status": "reserved", "for": inp.employee}
        return {"item": inp.item, "status": "ordered", "for": inp.employee, "expected_in_days": row["lead_days"]}


def _task(outcome: RequestOutcome) -> dict[str, Any]:
    return {"done_by": outcome.decided_by, "at": outcome.decided_at, **outcome.payload}


@register_workflow
@workflow.defn(name="employee_onboarding")
class EmployeeOnboarding(PluginWorkflow):
    """Onboard one new employee: three parallel tasks and the equipment their role gets."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        self.begin(inp)
        person = inp.data
        who = f"{person['name']} ({person['role']}, starts {person['start_date']})"
        listed = await connection_sql(
            "equipment_db", "SELECT item FROM equipment WHERE role IN ('all', :role) ORDER BY item",
            {"role": person["role"]})
        items = [row["item"] for row in listed["rows"]]
        tasks = [
            AssignRequest(name="Set up accounts", message=f"Accounts and laptop for {who}", groups=["it"],
                          resolutions=["Done"], metadata={"employee": person["email"], "equipment": items},
                          form=[FormField(name="laptop_serial", label="Laptop serial number", max_length=40),
                                FormField(name="accounts_ready", label="Accounts created", type="boolean")]),
            AssignRequest(name="Prepare contract", message=f"Contract and payroll for {who}", groups=["hr"],
                          resolutions=["Done"], metadata={"employee": person["email"]},
                          form=[FormField(name="payroll_id", label="Payroll id", max_length=20)]),
            AssignRequest(name="Plan the first week", message=f"A buddy and a first task for {who}",
                          users=[person["manager"]], resolutions=["Done"], metadata={"employee": person["email"]},
                          form=[FormField(name="buddy", label="Buddy (email)", max_length=200),
                                FormField(name="first_task", label="First task", max_length=500)]),
        ]
        children = [workflow.execute_child_workflow(
            ProvisionEquipment.run, EquipmentInput(item=item, employee=person["email"]),
            id=f"{workflow.info().workflow_id}-{item.replace(' ', '-')}") for item in items]
        # the tasks and the children all at once: the three requests are open together
        done = await asyncio.gather(*(self.assign_request(t) for t in tasks), *children)
        it, hr, manager = (_task(o) for o in done[:3])
        return {"employee": person["email"], "it": it, "hr": hr, "manager": manager, "equipment": list(done[3:])}


@register_workflow
@workflow.defn(name="onboarding_digest")
class OnboardingDigest:
    """The daily digest: equipment running low, so IT orders before the next start date."""

    @workflow.run
    async def run(self, inp: RunInput) -> dict[str, Any]:
        low = await connection_sql(
            "equipment_db", "SELECT item, in_stock, lead_days FROM equipment WHERE in_stock < :min ORDER BY item",
            {"min": inp.data.get("min_stock", 3)})
        lines = [f"{r['item']}: {r['in_stock']} left ({r['lead_days']} days to order)" for r in low["rows"]]
        return {"date": workflow.now().date().isoformat(), "low_stock": low["rows"],
                "text": "\n".join(lines) or "Nothing is running low"}
