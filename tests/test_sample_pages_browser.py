# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""The sample apps' pages in the dev host, in a real browser: a large expense goes from the trigger widget
through the manager and the finance quorum, each deciding in the bound inbox custom widget."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.panels_browser import base_url, browser, open_page  # noqa: F401  fixtures
from tests.requests_helpers import finished, person


def test_the_dev_host_offers_each_sample_page(client, open_page):
    host = open_page("/", user=person("ann"))
    options = host.locator("#host-app option")
    expect(options).to_have_count(4)
    assert set(options.all_inner_texts()) == {"Expenses", "Purchases", "Refunds", "Onboarding"}
    host.locator("#host-app").select_option("employee-onboarding")
    expect(host.locator('section[data-widget="trigger"] header')).to_contain_text("Onboard an employee")
    form = host.frame_locator('section[data-widget="trigger"] iframe')
    expect(form.get_by_role("heading", name="Onboard an employee")).to_be_visible()
    assert "app=employee-onboarding" in host.url


def test_a_large_expense_through_the_manager_and_the_finance_quorum_in_the_dev_host(client, open_page):
    ann, bob, fin1, fin2 = person("ann"), person("bob"), person("fin"), person("fin")
    what = f"Offsite venue {uuid.uuid4().hex[:6]}"
    page = open_page("/", user=ann, app="expense-approval")
    form = page.frame_locator('section[data-widget="trigger"] iframe')
    form.get_by_label("Employee").fill(ann)
    form.get_by_label("Amount").fill("12000")
    form.get_by_label("Description").fill(what)
    form.get_by_role("button", name="Submit").click()
    progress = form.locator(".wf-progress-area [data-run]")
    expect(progress.locator(".wf-chip")).to_have_text("waiting")
    run_id = progress.get_attribute("data-run")

    manager = open_page("/", user=bob, groups="managers", app="expense-approval")
    card = manager.frame_locator('section[data-widget="inbox"] iframe').locator("article.wf-card", has_text=what)
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".wf-feedback")).to_contain_text("Done")

    for who, feedback in ((fin1, "1 of 2 approvals so far"), (fin2, "Done")):
        finance = open_page("/", user=who, groups="finance", app="expense-approval")
        widget = finance.frame_locator('section[data-widget="inbox"] iframe')
        check = widget.locator("article.wf-card", has_text="Finance check").filter(has_text=ann)
        check.get_by_label("Cost center").fill("CC-42")
        check.get_by_role("button", name="Approve").click()
        expect(check.locator(".wf-feedback")).to_contain_text(feedback)

    expect(progress.locator(".wf-chip")).to_have_text("completed")  # live in the employee's page
    output = finished(client, run_id)["output"]
    assert [a["step"] for a in output["approvals"]] == ["manager", "finance"]
    assert output["decision"]["by"] == f"{fin1}, {fin2}" and output["decision"]["cost_center"] == "CC-42"
