# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""The panels in a real browser (Chromium, headless) against the real API, worker, Temporal and Redis."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import expect

from tests.conftest import auth
from tests.panels_browser import (  # noqa: F401  fixtures
    base_url,
    browser,
    open_page,
    submit_expense_after_field_errors,
)
from tests.requests_helpers import finished, group, pending_requests, person, run_detail, start_probe
from tests.test_expense_flow import submit


def _card(page, text: str):
    return page.locator("article.wf-card", has_text=text)


def test_expense_from_trigger_form_to_approval_with_live_history(client, open_page):
    ann, bob = person("ann"), person("bob")
    what = f"Conference {uuid.uuid4().hex[:6]}"
    form = open_page("/ui/trigger/", user=ann, query="submit_expense")
    submit_expense_after_field_errors(form, ann, "640", what)
    progress = form.locator(".wf-progress-area [data-run]")
    expect(progress.locator(".wf-chip")).to_have_text("waiting")  # live, from the run's events
    run_id = progress.get_attribute("data-run")

    history = open_page("/ui/history/", user=ann)
    row = history.locator(f'tr[data-run="{run_id}"]')
    expect(row.locator(".wf-chip")).to_have_text("waiting")

    inbox = open_page("/ui/inbox/", user=bob, groups="managers")
    card = _card(inbox, what)
    expect(card.get_by_role("table")).to_contain_text("640")  # metadata as a small table
    expect(card).to_contain_text(f"From {ann}")
    card.get_by_label("Comment").fill("Fine")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".wf-feedback")).to_contain_text("Done")

    expect(row.locator(".wf-chip")).to_have_text("completed")  # no reload: over /api/v1/events
    expect(progress.locator(".wf-chip")).to_have_text("completed")
    row.click()
    detail = history.locator(f'[data-detail="{run_id}"]')
    expect(detail.get_by_role("list", name="Step timeline")).to_contain_text("Approve expense")
    expect(detail.get_by_role("table")).to_contain_text(bob)  # the audit trail: who decided
    expect(detail.get_by_role("button", name="Cancel run")).to_be_disabled()  # ended
    assert run_detail(client, run_id)["output"]["decision"]["comment"] == "Fine"


def test_two_managers_racing_one_succeeds_the_other_reads_who_won(client, open_page):
    ann, bob, carol = person("ann"), person("bob"), person("carol")
    what = f"Race {uuid.uuid4().hex[:6]}"
    run_id = submit(client, ann, 900, what).json["run_id"]
    first = open_page("/ui/inbox/", user=bob, groups="managers")
    second = open_page("/ui/inbox/", user=carol, groups="managers")
    approve_first = _card(first, what).get_by_role("button", name="Approve")
    approve_second = _card(second, what).get_by_role("button", name="Approve")
    expect(approve_first).to_be_enabled()
    expect(approve_second).to_be_enabled()
    # Both decisions are held in their browser until both managers have clicked, then let go together: each
    # click meets a card still pending, however slow the machine. (Clicks merely timed for one moment could
    # land after the other decision re-rendered the card away, and that race was then not raced.)
    held: list = []
    for page in (first, second):
        page.route("**/api/v1/requests/*/resolve", lambda route: held.append(route))
    approve_first.click()
    approve_second.click()
    deadline = time.monotonic() + 20
    while len(held) < 2 and time.monotonic() < deadline:
        first.wait_for_timeout(50)  # lets Playwright hand over the held requests
    assert len(held) == 2, "both managers sent their decision"
    for route in held:
        route.continue_()
    run = finished(client, run_id)
    winner = run["output"]["decision"]["by"]  # whichever request reached the workflow first
    won, lost = (first, second) if winner == bob else (second, first)
    assert winner in (bob, carol) and run["status"] == "completed"
    expect(_card(won, what).locator(".wf-feedback")).to_contain_text("Done")
    expect(_card(lost, what).locator(".wf-alert-error")).to_have_text(
        re.compile(rf"^Already approved by {re.escape(winner)} at \d\d:\d\d$"))


def test_bound_panels_in_the_dev_host_run_the_flow_through_trigger_event(client, open_page):
    ann, dave = person("ann"), person("dave")
    what = f"Bound {uuid.uuid4().hex[:6]}"
    app = open_page("/", user=ann)  # the app as ann: every panel a custom widget, the host runs the queries
    trigger = app.frame_locator('section[data-widget="trigger"] iframe')
    trigger.get_by_label("Employee").fill(ann)
    trigger.get_by_label("Amount").fill("700")
    trigger.get_by_label("Description").fill(what)
    trigger.get_by_role("button", name="Submit").click()
    progress = trigger.locator(".wf-progress-area [data-run]")
    expect(progress.locator(".wf-chip")).to_have_text("waiting")
    run_id = progress.get_attribute("data-run")
    history_row = app.frame_locator('section[data-widget="history"] iframe').locator(f'tr[data-run="{run_id}"]')
    expect(history_row.locator(".wf-chip")).to_have_text("waiting")

    manager = open_page("/", user=dave, groups="managers")  # the same app, as a manager
    iframe = manager.locator('section[data-widget="inbox"] iframe')
    expect(iframe).to_have_attribute("sandbox", re.compile("allow-scripts"))
    assert "allow-same-origin" not in iframe.get_attribute("sandbox")
    card = manager.frame_locator('section[data-widget="inbox"] iframe').locator("article.wf-card", has_text=what)
    expect(card).to_be_visible()
    frame = iframe.element_handle().content_frame()
    # the host's theme reaches the panel; a value that cannot be cloned never reaches the host's queue
    primary = "getComputedStyle(document.querySelector('.wf')).getPropertyValue('--wf-primary')"
    assert frame.evaluate(primary) == "#553DE9"
    frame.evaluate("WF.host.update({seen: true, callback: () => 1})")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".wf-feedback")).to_contain_text("Done")  # so later messages still flowed
    assert frame.evaluate("window.origin") == "null"  # no allow-same-origin: an opaque origin
    assert frame.evaluate("WF.host.mode + '/' + WF.host.kind") == "bound/appsmith"

    expect(history_row.locator(".wf-chip")).to_have_text("completed")  # ann's app, live, still bound
    expect(progress.locator(".wf-chip")).to_have_text("completed")
    run = finished(client, run_id)
    assert run["status"] == "completed" and run["output"]["decision"]["by"] == dave


def test_inbox_works_by_keyboard_alone_and_every_control_has_a_name(client, open_page):
    requester, approver, approvers = person("req"), person("kim"), group()
    what = f"Keyboard {uuid.uuid4().hex[:6]}"
    run_id = start_probe(client, requester, [{
        "name": "Sign the contract", "message": what, "groups": [approvers], "metadata": {"vendor": "Acme"},
        "form": [{"name": "cost_center", "label": "Cost center", "type": "string", "required": True}]}])
    pending_requests(client, run_id)
    page = open_page("/ui/inbox/", user=approver, groups=approvers)
    card = _card(page, what)
    expect(card).to_be_visible()
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, select, textarea, [tabindex]')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                        && !el.getAttribute('aria-labelledby') && !el.textContent.trim())
        .map((el) => el.outerHTML.slice(0, 80))""")
    assert unnamed == []

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Out of office")).to_be_focused()  # the header's control comes first
    page.keyboard.press("Tab")
    expect(card.get_by_label("Cost center")).to_be_focused()
    page.keyboard.press("Tab")
    expect(card.get_by_label("Comment")).to_be_focused()
    page.keyboard.type("Signed off")
    page.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Approve")).to_be_focused()
    page.keyboard.press("Enter")  # the required form field is empty: refused on the field, focus goes there
    expect(card.get_by_label("Cost center")).to_be_focused()
    expect(card.locator('[data-field="cost_center"] .wf-field-error')).to_have_text("Missing data for required field.")
    page.keyboard.type("CC-42")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(card.locator(".wf-feedback")).to_contain_text("Done")
    outcome = finished(client, run_id)["output"]["outcomes"][0]
    assert outcome["payload"] == {"cost_center": "CC-42"} and outcome["comment"] == "Signed off"


def test_a_refused_decision_says_why(client, open_page):
    requester, approvers = person("req"), group()
    what = f"Refused {uuid.uuid4().hex[:6]}"
    run_id = start_probe(client, requester, [{"name": "Self check", "message": what, "groups": [approvers]}])
    pending_requests(client, run_id)
    page = open_page("/ui/inbox/", user=requester, groups=approvers)  # the requester may not approve their own
    card = _card(page, what)
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".wf-alert-error")).to_contain_text("Not allowed")
    assert client.get(f"/api/v1/runs/{run_id}", headers=auth(user=requester)).json["status"] == "waiting"


def test_history_cancels_and_retries_only_after_confirmation(client, open_page):
    ann = person("ann")
    run_id = submit(client, ann, 810, f"Cancel me {uuid.uuid4().hex[:6]}").json["run_id"]
    pending_requests(client, run_id)
    page = open_page("/ui/history/", user=ann)
    page.locator(f'tr[data-run="{run_id}"]').click()
    detail = page.locator(f'[data-detail="{run_id}"]')
    expect(detail.get_by_role("button", name="Retry")).to_be_disabled()  # still open
    detail.get_by_role("button", name="Cancel run").click()
    dialog = page.get_by_role("dialog", name="Cancel this run?")
    dialog.get_by_role("button", name="Keep it").click()  # changed their mind: nothing happens
    expect(dialog).to_have_count(0)
    assert run_detail(client, run_id)["status"] == "waiting"
    detail.get_by_role("button", name="Cancel run").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel run").click()
    expect(detail.locator(".wf-chip").first).to_have_text("cancelled")
    detail.get_by_role("button", name="Retry").click()
    page.get_by_role("dialog", name="Retry this run?").get_by_role("button", name="Retry run").click()
    retried = page.locator("[data-detail]").filter(has_text=f"Retry of {run_id}")
    expect(retried).to_be_visible()  # the new run opens
    new_id = retried.get_attribute("data-detail")
    assert run_detail(client, new_id)["retry_of"] == run_id


def test_binding_helper_shows_steps_host_bindings_and_test_runs(client, open_page):
    requester = person("ann")
    page = open_page("/ui/binding/", user=requester, query="request_purchase")
    graph = page.get_by_role("list", name="Steps of Request a purchase")
    expect(graph.locator('.wf-node[data-kind="approval"]')).to_contain_text("Approve purchase")
    binding = page.get_by_label("Binding for Appsmith")
    expect(binding).to_have_value(re.compile(r"X-Workflows-Identity: <<APPSMITH_USER_OAUTH2_ACCESS_TOKEN>>"))
    page.get_by_role("button", name="ToolJet").click()
    tooljet = re.compile(r'"item": "\{\{components\.item\.value\}\}"')
    expect(page.get_by_label("Binding for ToolJet")).to_have_value(tooljet)
    page.get_by_role("button", name="Copy for ToolJet").click()
    expect(page.locator("main .wf-alert")).to_have_text(re.compile("^(Copied|Selected: press Ctrl\\+C to copy)$"))
    page.get_by_label("Requester").fill(requester)
    page.get_by_label("Item").fill("Stapler")
    page.get_by_label("Amount").fill("0")
    page.get_by_label("Currency").select_option("USD")
    page.get_by_role("button", name="Test-run").click()
    expect(page.locator('[data-field="amount"] .wf-field-error')).to_have_text("Must be greater than 0.")
    page.get_by_label("Amount").fill("12")
    page.get_by_role("button", name="Test-run").click()
    expect(page.get_by_text(re.compile(r"^Started request_purchase-"))).to_be_visible()


def test_the_same_export_runs_on_a_shadow_dom_host_with_custom_widget(client, browser):
    parts = client.get("/ui/export/inbox.json").json
    request = {"id": "req-1", "run_id": "run-1", "name": "Approve expense", "message": "Taxi",
               "metadata": {"amount": 12}, "resolutions": ["Approve", "Reject"], "users": [], "groups": ["managers"],
               "required_approvals": 1, "rejecting_resolutions": ["Reject"], "requester": "ann@example.com",
               "created_at": "2026-11-26T10:00:00+00:00", "status": "pending", "decisions": [], "form": [],
               "version": 1}
    page = browser.new_page()
    try:
        page.set_content(f"""<html><body><script>
            window.sent = [];
            window.customWidget = {{triggerEvent: (name, ctx) => sent.push([name, ctx]), updateModel: () => {{}},
                                    updateHeight: () => {{}}}};
            </script>{parts["html"]}<style>{parts["css"]}</style><script>{parts["js"]}</script></body></html>""")
        page.evaluate("m => document.dispatchEvent(new CustomEvent('model-update', {detail: m}))",
                      {"requests": {"requests": [request]}})
        card = page.locator("article.wf-card", has_text="Taxi")
        card.get_by_label("Comment").fill("ok")
        card.get_by_role("button", name="Approve").click()
        assert page.evaluate("sent") == [["resolve", {"id": "req-1", "resolution": "Approve", "comment": "ok",
                                                      "payload": {}}]]
        assert page.evaluate("WF.host.kind") == "shadow"
    finally:
        page.close()


def test_the_inbox_names_a_requests_sla_policy(client, open_page, tmp_path):
    requester = person("req")
    item = f"Desk {uuid.uuid4().hex[:6]}"
    response = client.post("/api/v1/queries/request_purchase/runs", headers=auth(user=requester),
                           json={"input": {"requester": requester, "item": item, "amount": 900, "currency": "USD"}})
    assert response.status_code in (200, 202), response.json
    inbox = open_page("/ui/inbox/", user=person("manager"), groups="managers")
    card = _card(inbox, item)
    expect(card.locator(".wf-sla")).to_have_text("SLA purchase-standard")
    expect(card.locator(".wf-sla")).to_have_attribute("title", re.compile(r"head-office \(America/New_York\)"))
    card.screenshot(path=str(tmp_path / "inbox-sla-card.png"))  # looked at while writing this test
    history = open_page("/ui/history/", user=requester)
    history.locator(f'tr[data-run="{response.json["run_id"]}"]').click()
    detail = history.locator(f'[data-detail="{response.json["run_id"]}"]')
    expect(detail.locator(".wf-sla")).to_have_text("SLA purchase-standard")
    detail.screenshot(path=str(tmp_path / "history-sla-detail.png"))
