"""The employee-onboarding sample end to end through HTTP, served as `up` serves it (the session's API and worker
load every sample; the SQLite path is relative to the repository root, where tests and `up` run): IT, HR and the
manager get their tasks at once, each with a form; a child workflow per equipment item (from the SQLite list)
reserves or orders it; the daily digest is a workspace schedule that runs the digest query."""

from __future__ import annotations

import sqlite3

from tests.checkout import SAMPLE_APPS
from tests.conftest import ADMIN_KEY, auth
from tests.requests_helpers import act, finished, pending_requests, person, run_detail
from tests.test_expense_flow import wait_for

SAMPLE = SAMPLE_APPS / "employee-onboarding"


def rows(connection: sqlite3.Connection) -> list[tuple]:
    return connection.execute("SELECT item, role, in_stock, lead_days FROM equipment ORDER BY item").fetchall()


def test_the_shipped_database_is_what_equipment_sql_builds():
    built = sqlite3.connect(":memory:")
    built.executescript((SAMPLE / "equipment.sql").read_text())
    shipped = sqlite3.connect(f"file:{SAMPLE / 'equipment.db'}?mode=ro", uri=True)
    assert rows(shipped) == rows(built) and len(rows(built)) == 6


def test_three_tasks_open_at_once_and_each_item_gets_its_child(client, app):
    hire, manager, hr_clerk = person("new"), person("mgr"), person("hr")
    started = client.post("/api/v1/queries/onboard_employee/runs", headers=auth(user=hr_clerk), json={"input": {
        "name": "Noor Haddad", "email": hire, "role": "engineer", "manager": manager, "start_date": "2027-01-04"}})
    assert started.status_code == 202, started.json
    run_id = started.json["run_id"]
    assert run_id == f"onboarding-{hire}"

    tasks = {r["name"]: r for r in pending_requests(client, run_id, count=3)}
    assert set(tasks) == {"Set up accounts", "Prepare contract", "Plan the first week"}
    assert [f["name"] for f in tasks["Set up accounts"]["form"]] == ["laptop_serial", "accounts_ready"]
    assert tasks["Set up accounts"]["metadata"]["equipment"] == [
        "badge", "external monitor", "hardware security key", "headset", "laptop"]
    assert tasks["Plan the first week"]["users"] == [manager] and tasks["Prepare contract"]["groups"] == ["hr"]

    it_person = person("it")
    missing = act(client, tasks["Set up accounts"]["id"], it_person, groups="it", resolution="Done",
                  payload={"laptop_serial": "SN-1"})
    assert missing.status_code == 422 and "payload.accounts_ready" in missing.json["error"]["details"]["fields"]
    for name, who, groups, payload in (
            ("Set up accounts", it_person, "it", {"laptop_serial": "SN-1", "accounts_ready": True}),
            ("Plan the first week", manager, None, {"buddy": "sam@example.com", "first_task": "Ship a fix"}),
            ("Prepare contract", person("hr"), "hr", {"payroll_id": "P-77"})):
        assert run_detail(client, run_id)["status"] == "waiting"
        answer = act(client, tasks[name]["id"], who, groups=groups, resolution="Done", payload=payload)
        assert answer.status_code == 200, answer.json

    output = finished(client, run_id)["output"]
    assert output["it"]["laptop_serial"] == "SN-1" and output["it"]["done_by"] == [it_person]
    assert output["manager"]["buddy"] == "sam@example.com" and output["hr"]["payroll_id"] == "P-77"
    by_item = {e["item"]: e for e in output["equipment"]}
    assert set(by_item) == set(tasks["Set up accounts"]["metadata"]["equipment"])
    assert by_item["external monitor"] == {"item": "external monitor", "status": "ordered", "for": hire,
                                           "expected_in_days": 7}
    assert all(e["status"] == "reserved" for item, e in by_item.items() if item != "external monitor")
    children = app.extensions["workflows"].gateway.call(
        lambda c: c.get_workflow_handle(f"{run_id}-external-monitor").describe(), timeout=10)
    assert children.workflow_type == "provision_equipment" and children.parent_id == run_id


def test_the_digest_lists_low_stock_and_its_schedule_runs_it(client):
    """The session's worker owns the workspace schedule (schedules belong to a task queue)."""
    digest = client.post("/api/v1/queries/onboarding_digest/runs", headers=auth(user=person("it")),
                         json={"input": {}})
    assert digest.status_code == 200, digest.json
    low = {r["item"]: r["in_stock"] for r in digest.json["output"]["low_stock"]}
    assert low == {"external monitor": 0, "hardware security key": 2, "phone": 1}

    schedule = wait_for(lambda: (r := client.get("/api/v1/schedules/onboarding-daily-digest",
                                                 headers=auth(ADMIN_KEY))).status_code == 200 and r.json)
    assert (schedule["query"], schedule["cron"], schedule["origin"]) == ("onboarding_digest", "0 8 * * 1-5",
                                                                        "workspace")
    fired = client.post("/api/v1/schedules/onboarding-daily-digest/trigger", headers=auth(ADMIN_KEY),
                        json={"overlap": "allow_all"})
    assert fired.status_code == 202, fired.json

    def scheduled_run():
        listing = client.get("/api/v1/runs", headers=auth(ADMIN_KEY),
                             query_string={"started_by": "schedule:onboarding-daily-digest", "limit": 5})
        return [r for r in listing.json["runs"] if r["status"] == "completed"]

    [run, *_] = wait_for(scheduled_run, timeout=30)
    assert run_detail(client, run["id"])["output"]["low_stock"] == digest.json["output"]["low_stock"]
