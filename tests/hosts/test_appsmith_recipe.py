"""The Appsmith guide, executed: the recipe (tests/hosts/recipes/appsmith.json, from which docs/hosts/appsmith.md is
written) runs literally in the Appsmith emulator against the real stack, as an employee and as managers.
Every step a newcomer takes in Appsmith is here; none may fail."""

from __future__ import annotations

import json
import re
import time
import uuid

from playwright.sync_api import expect

from tests.hosts.appsmith_fixtures import *  # noqa: F403  the fixtures
from tests.hosts.appsmith_fixtures import snap
from tests.panels_browser import base_url, browser, submit_expense_after_field_errors  # noqa: F401
from tests.requests_helpers import finished, pending_requests, person, run_detail
from tests.test_expense_flow import submit


def card(widget, text: str):
    return widget.locator("article.wf-card", has_text=text)


def test_trigger_shows_field_errors_then_the_runs_progress_live(client, open_appsmith, appsmith_server):
    ann, bob = person("ann"), person("bob")
    what = f"Conference {uuid.uuid4().hex[:6]}"
    employee = open_appsmith(ann)
    form = employee.widget("SubmitExpense")
    submit_expense_after_field_errors(form, ann, "640", what)  # the server's 422 came back through TriggerWorkflow
    progress = form.locator(".wf-progress-area [data-run]")
    expect(progress.locator(".wf-chip")).to_have_text("waiting")
    expect(progress).to_contain_text("Waiting for Approve expense")
    run_id = progress.get_attribute("data-run")

    sent = [s for s in appsmith_server.sent if s["query"] == "TriggerWorkflow" and s["user"] == ann]
    assert json.loads(sent[-1]["body"]) == {"input": {"employee": ann, "amount": 640, "description": what}}
    assert sent[-1]["headers"]["Idempotency-Key"].startswith("wf-")  # the panel's key, never empty
    assert sent[-2]["headers"]["Idempotency-Key"] != sent[-1]["headers"]["Idempotency-Key"]  # new values, new key

    [request] = pending_requests(client, run_id)
    manager = open_appsmith(bob, ["managers"]).widget("Approvals")
    card(manager, what).get_by_role("button", name="Approve").click()
    expect(card(manager, what).locator(".wf-feedback")).to_contain_text("Done: “Approve” recorded")
    expect(card(manager, what).locator(".wf-progress")).to_contain_text("Approve")  # no "0 of 1" left
    expect(progress.locator(".wf-chip")).to_have_text("completed")  # the employee's page follows, no reload
    history_row = employee.widget("History").locator(f'tr[data-run="{run_id}"]')
    expect(history_row.locator(".wf-chip")).to_have_text("completed")  # listed once visible, then followed
    snap(employee, "appsmith-employee")
    assert finished(client, run_id)["output"]["decision"]["by"] == bob and request["groups"] == ["managers"]

    later = f"Later {uuid.uuid4().hex[:6]}"  # opened while the manager's page is open: shows without a reload
    pending_requests(client, submit(client, ann, 700, later).json["run_id"])
    expect(card(manager, later)).to_be_visible()


def test_each_inbox_button_decides_what_it_says(client, open_appsmith):
    ann, bob = person("ann"), person("bob")
    kept, refused = f"Keep {uuid.uuid4().hex[:6]}", f"Drop {uuid.uuid4().hex[:6]}"
    kept_run = submit(client, ann, 500, kept).json["run_id"]
    refused_run = submit(client, ann, 600, refused).json["run_id"]
    pending_requests(client, kept_run), pending_requests(client, refused_run)  # open: what a manager would see
    manager = open_appsmith(bob, ["managers"])
    inbox = manager.widget("Approvals")
    expect(card(inbox, refused)).to_be_visible()
    snap(manager, "appsmith-manager")
    card(inbox, kept).get_by_role("button", name="Approve").click()
    expect(card(inbox, kept).locator(".wf-feedback")).to_contain_text("Done")
    card(inbox, refused).get_by_label("Comment").fill("Not in the budget")
    card(inbox, refused).get_by_role("button", name="Reject").click()
    expect(card(inbox, refused).locator(".wf-feedback")).to_contain_text("Done: “Reject” recorded")
    assert finished(client, kept_run)["output"]["approved"] is True
    rejected = finished(client, refused_run)["output"]
    assert rejected["approved"] is False and rejected["decision"]["resolution"] == "Reject"
    assert rejected["decision"]["comment"] == "Not in the budget"


def test_two_managers_racing_the_second_reads_who_won(client, open_appsmith):
    ann, bob, carol = person("ann"), person("bob"), person("carol")
    what = f"Race {uuid.uuid4().hex[:6]}"
    run_id = submit(client, ann, 900, what).json["run_id"]
    pending_requests(client, run_id)
    first = open_appsmith(bob, ["managers"]).widget("Approvals")
    second = open_appsmith(carol, ["managers"]).widget("Approvals")
    expect(card(first, what).get_by_role("button", name="Approve")).to_be_enabled()
    expect(card(second, what).get_by_role("button", name="Approve")).to_be_enabled()
    card(first, what).get_by_role("button", name="Approve").click()
    expect(card(first, what).locator(".wf-feedback")).to_contain_text("Done")
    card(second, what).get_by_role("button", name="Approve").click()  # its page still shows the request
    expect(card(second, what).locator(".wf-alert-error")).to_have_text(
        re.compile(rf"^Already approved by {re.escape(bob)} at \d\d:\d\d$"))
    assert finished(client, run_id)["output"]["decision"]["by"] == bob


def test_a_refused_decision_says_why(client, open_appsmith):
    dave = person("dave")
    what = f"Own {uuid.uuid4().hex[:6]}"
    pending_requests(client, submit(client, dave, 300, what).json["run_id"])
    inbox = open_appsmith(dave, ["managers"]).widget("Approvals")
    card(inbox, what).get_by_role("button", name="Approve").click()
    expect(card(inbox, what).locator(".wf-alert-error")).to_contain_text("Not allowed:")
    expect(card(inbox, what).locator(".wf-alert-error")).to_contain_text(re.compile("own|yourself|started", re.I))


def listed(history, run_id: str, chip: str | None = None) -> None:
    """Apply the filters until the run shows (run history follows Temporal's visibility, a moment behind)."""
    row = history.locator(f'tr[data-run="{run_id}"]')
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if row.count() and (chip is None or row.locator(".wf-chip").inner_text() == chip):
            return
        history.get_by_role("button", name="Apply filters").click()
        time.sleep(1)
    expect(row.locator(".wf-chip")).to_have_text(chip or re.compile("."))


def test_history_with_every_filter_cancel_and_retry(client, open_appsmith, appsmith_server):
    ann = person("ann")
    small = submit(client, ann, 50, "Coffee").json["run_id"]  # approved by policy: completes at once
    big = submit(client, ann, 800, "Laptop").json["run_id"]  # waits for a manager
    finished(client, small)
    page = open_appsmith(ann)
    history = page.widget("History")
    listed(history, big, "waiting")
    history.get_by_label("Status", exact=True).select_option("waiting")
    history.get_by_label("Query", exact=True).select_option("submit_expense")  # the names come from List queries
    history.get_by_label("Started by", exact=True).fill(ann)
    history.get_by_label("From", exact=True).fill("2020-01-01T00:00")
    history.get_by_label("To", exact=True).fill("2099-01-01T00:00")
    history.get_by_role("button", name="Apply filters").click()
    expect(history.locator(f'tr[data-run="{small}"]')).to_have_count(0)
    expect(history.locator(f'tr[data-run="{big}"] .wf-chip')).to_have_text("waiting")
    sent = [dict(s["params"]) for s in appsmith_server.sent if s["query"] == "ListRuns" and s["user"] == ann][-1]
    assert sent["status"] == "waiting" and sent["query"] == "submit_expense" and sent["started_by"] == ann
    assert sent["since"].startswith("20") and sent["until"].startswith("2099") and sent["cursor"] == ""

    history.locator(f'tr[data-run="{big}"]').click()
    detail = history.locator(f'[data-detail="{big}"]')
    expect(detail.get_by_role("list", name="Step timeline")).to_contain_text("Approve expense")
    detail.get_by_role("button", name="Cancel run").click()
    history.get_by_role("dialog").get_by_role("button", name="Cancel run").click()
    expect(detail.locator(".wf-chip").first).to_have_text("cancelled")
    expect(detail.locator(".wf-alert-info")).to_have_text(re.compile(r"^Cancelled at \d\d:\d\d\.$"))
    expect(detail).not_to_contain_text("CancelledError")
    expect(detail.locator(".wf-alert-error")).to_have_count(0)
    history.get_by_label("Status", exact=True).select_option("")
    history.get_by_role("button", name="Apply filters").click()
    expect(history.locator(f'tr[data-run="{big}"] .wf-chip')).to_have_text("cancelled")  # the list too
    snap(page, "appsmith-history")

    detail.get_by_role("button", name="Retry").click()
    history.get_by_role("dialog", name="Retry this run?").get_by_role("button", name="Retry run").click()
    retried = history.locator("[data-detail]").filter(has_text=f"Retry of {big}")
    expect(retried).to_be_visible()
    assert run_detail(client, retried.get_attribute("data-detail"))["retry_of"] == big
    assert not [e for e in page.log() if e["kind"] == "event error"], page.log()
