"""Every sample runs under a real `workflows-plugin up` as a newcomer starts it (no workspace configured): `up`
starts the samples' stand-in services, and each sample's first steps work through HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from plugin.embedded.processes import port_in_use
from tests.test_expense_flow import wait_for
from tests.test_up import Up, headers
from tests.webhook_helpers import signed_headers

STAND_INS = (8791, 8792)  # the ports the samples' connections name


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_each_sample_runs_under_up_with_its_stand_in(tmp_path: Path):
    if any(port_in_use(p) for p in STAND_INS):
        pytest.skip(f"a port of the samples' stand-ins ({STAND_INS}) is taken on this machine: another `up` runs")
    up = Up(tmp_path / "data").start()
    try:
        up.wait_ready(120)
        out = up.output()
        assert "expense-approval's stand-in service on 127.0.0.1:8791" in out
        assert "refund-processing's stand-in service on 127.0.0.1:8792" in out
        app_key, admin = up.key("app"), up.key("admin")
        ann = "ann@example.com"

        expense = requests.post(up.url("/api/v1/queries/submit_expense/runs?wait=30"), headers=headers(app_key, ann),
                                json={"input": {"employee": ann, "amount": 20, "description": "Taxi"}}, timeout=40)
        assert expense.status_code == 200, expense.text
        assert expense.json()["output"]["notified"] is True, "the team chat stand-in was reached"
        posted = requests.get("http://127.0.0.1:8791/messages", timeout=5).json()["messages"]
        assert any(m["text"] == f"Expense of 20.00 by {ann} approved by policy" for m in posted)

        hook = requests.post(up.url("/api/v1/queries/process_refund/webhook"), json={"signed": True}, timeout=10,
                             headers=headers(admin, "ops@example.com")).json()
        body = json.dumps({"order_id": "ord-1001", "amount": 45.5, "reason": "Damaged"}).encode()
        refund = requests.post(up.url("/hooks/process_refund"), data=body, timeout=30, headers={
            "Authorization": f"Bearer {hook['token']}", "Content-Type": "application/json",
            **signed_headers(hook["signing_secret"], body)})
        assert refund.status_code == 202, refund.text
        assert refund.json()["next"]["decision"] == "Approve refund"
        assert refund.json()["order"]["customer"] == "ann@example.com", "the order came from the stand-in"

        started = requests.post(up.url("/api/v1/queries/onboard_employee/runs"), headers=headers(app_key, ann),
                                json={"input": {"name": "Noor", "email": "noor@example.com", "role": "sales",
                                                "manager": "bob@example.com", "start_date": "2027-01-04"}}, timeout=10)
        assert started.status_code == 202, started.text
        run_url = up.url(f"/api/v1/runs/{started.json()['run_id']}")
        run = wait_for(lambda: len((r := requests.get(run_url, headers=headers(app_key, ann), timeout=10).json())
                                   .get("requests", [])) == 3 and r, timeout=30)
        assert {r["name"] for r in run["requests"]} == {"Set up accounts", "Prepare contract", "Plan the first week"}
        equipment = next(r["metadata"]["equipment"] for r in run["requests"] if r["name"] == "Set up accounts")
        assert equipment == ["badge", "headset", "laptop", "phone"], "read from the SQLite list"
    finally:
        assert up.stop() == 0, up.output()
    assert not any(port_in_use(p) for p in STAND_INS), "the stand-ins stop with up"
