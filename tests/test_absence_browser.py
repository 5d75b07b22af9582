# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""Out of office in the inbox panel, in a real browser against the real stack: ann sets her absence (a refused
delegate first, named on the field), bob sees her request marked "for ann" and decides it for her, the run's
history shows it, and ending the absence takes the offer back. With ``WORKFLOWS_SCREENSHOTS=1`` the states are
saved to docs/screenshots/ (inbox-absence-*.png)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import auth
from tests.panels_browser import base_url, browser, open_page  # noqa: F401  fixtures
from tests.requests_helpers import finished, pending_requests, person, start_probe

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def shot(page: Page, name: str) -> None:
    """Save the page's picture when asked to (WORKFLOWS_SCREENSHOTS=1); a test never depends on it."""
    if os.environ.get("WORKFLOWS_SCREENSHOTS") == "1":
        page.wait_for_timeout(300)  # let transitions settle before the picture
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_out_of_office_from_the_panel_to_the_delegates_decision(client, open_page):
    ann, bob, req = person("ann"), person("bob"), person("req")
    what = f"Laptop {uuid.uuid4().hex[:6]}"
    run_id = start_probe(client, req, [{"name": "Buy a laptop", "message": what, "users": [ann],
                                                  "metadata": {"amount": "1,200 EUR"}}])
    pending_requests(client, run_id)

    page = open_page("/ui/inbox/", user=ann)
    expect(page.locator("article.wf-card", has_text=what)).to_be_visible()
    page.get_by_role("button", name="Out of office").click()
    form = page.get_by_role("form", name="Out of office")
    expect(form.get_by_label("Delegate")).to_be_focused()
    form.get_by_label("Delegate").fill(ann)  # herself: refused by the API, named on the field
    form.get_by_role("button", name="Save absence").click()
    expect(form.locator('[data-field="delegate"] .wf-field-error')).to_contain_text("cannot stand in for yourself")
    expect(form.locator(".wf-alert-error")).to_have_text("Check the fields marked above")
    expect(form.get_by_label("Delegate")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Delegate").fill(bob)
    form.get_by_label("Note").fill("Back on Monday")
    shot(page, "inbox-absence-set")
    form.get_by_role("button", name="Save absence").click()
    summary = page.locator(".wf-ooo-summary")
    expect(summary).to_contain_text("You are out of office")
    expect(summary).to_contain_text(bob)
    expect(page.locator(".wf-ooo")).to_have_attribute("data-absence", "active")
    shot(page, "inbox-absence-active")
    assert client.get("/api/v1/absences/me", headers=auth(user=ann)).json["delegate"] == bob

    delegate = open_page("/ui/inbox/", user=bob)
    card = delegate.locator("article.wf-card", has_text=what)
    expect(card.locator(".wf-for")).to_have_text(f"for {ann}")
    shot(delegate, "inbox-absence-delegate")
    card.get_by_label("Comment").fill("Ann is away; approved")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".wf-feedback")).to_contain_text(f"recorded for {ann}")
    decision = finished(client, run_id)["requests"][0]["decisions"][0]
    assert (decision["actor"], decision["acting_for"]) == (bob, ann)

    history = open_page("/ui/history/", user=req)  # the requester's run history
    row = history.locator(f'tr[data-run="{run_id}"]')
    row.click()
    expect(history.locator(".wf-decisions")).to_contain_text(f"Approve by {bob} for {ann}")
    expect(history.locator(".wf-table", has_text="How identified")).to_contain_text(f"{bob} for {ann}")
    shot(history, "history-acting-for")

    later = f"Monitor {uuid.uuid4().hex[:6]}"
    second = start_probe(client, person("req"), [{"name": "Buy a monitor", "message": later, "users": [ann]}])
    pending_requests(client, second)
    expect(delegate.locator("article.wf-card", has_text=later).locator(".wf-for")).to_be_visible()  # live, no reload
    page.get_by_role("button", name="End absence now").click()
    page.get_by_role("dialog").get_by_role("button", name="End absence").click()
    expect(page.locator(".wf-ooo")).to_have_attribute("data-absence", "none")
    delegate.reload()
    expect(delegate.locator(".wf-empty")).to_contain_text("all caught up")  # the offer is taken back
    expect(delegate.locator("article.wf-card", has_text=later)).to_have_count(0)



def test_the_dev_hosts_bound_inbox_sets_and_ends_an_absence_through_its_events(client, open_page):
    ann, bob = person("ann"), person("bob")
    app = open_page("/", user=ann)  # every panel a custom widget; the host answers set_absence / end_absence
    inbox = app.frame_locator('section[data-widget="inbox"] iframe')
    inbox.get_by_role("button", name="Out of office").click()
    form = inbox.get_by_role("form", name="Out of office")
    form.get_by_label("Delegate").fill("not-an-email")
    form.get_by_role("button", name="Save absence").click()
    expect(form.locator('[data-field="delegate"] .wf-field-error')).to_contain_text("email")
    form.get_by_label("Delegate").fill(bob)
    form.get_by_role("button", name="Save absence").click()
    expect(inbox.locator(".wf-ooo-summary")).to_contain_text(bob)
    assert client.get("/api/v1/absences/me", headers=auth(user=ann)).json["delegate"] == bob
    inbox.get_by_role("button", name="End absence now").click()
    inbox.get_by_role("dialog").get_by_role("button", name="End absence").click()
    expect(inbox.locator(".wf-ooo")).to_have_attribute("data-absence", "none")
    assert client.get("/api/v1/absences/me", headers=auth(user=ann)).json["delegate"] is None
