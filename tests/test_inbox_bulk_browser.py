# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""Bulk decisions in the inbox panel, in Chromium against the real stack: select, confirm, and a report in plain
words of a partial failure (one decided by someone else meanwhile, one the user may not decide).

``UPDATE_SCREENSHOTS=1`` also saves the selection, the confirmation and the report into docs/screenshots/."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from tests.panels_browser import base_url, browser, open_page  # noqa: F401  fixtures
from tests.requests_helpers import act, pending_requests, person, run_detail, start_probe

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _shot(page, name: str, tmp_path: Path) -> None:
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _waiting(client, requester: str, name: str, users: list[str], **more) -> str:
    run_id = start_probe(client, requester, [{"name": name, "users": users, "message": f"{name}, please",
                                              "metadata": {"amount": 120}, **more}])
    return pending_requests(client, run_id)[0]["id"]


def test_bulk_approve_with_a_partial_failure_report(client, open_page, tmp_path):
    ann, bob = person("ann"), person("bob")
    fine = [_waiting(client, person("req"), f"Train ticket {i}", [ann]) for i in range(3)]
    raced = _waiting(client, person("req"), "Hotel night", [ann, bob])
    own = _waiting(client, ann, "My own taxi", [ann])  # ann started it: she may not decide it
    _waiting(client, person("req"), "Laptop with a form", [ann], form=[{"name": "cost_center"}])

    page = open_page("/ui/inbox/", user=ann)
    cards = page.locator("article.wf-card")
    expect(cards).to_have_count(6)
    expect(page.locator('article.wf-card:has-text("Laptop with a form") .wf-bulk-select')).to_have_count(0)
    bar = page.locator(".wf-bulk-bar")
    expect(bar).to_be_visible()
    expect(bar.get_by_role("button", name="Approve selected")).to_have_count(0)  # nothing selected yet
    page.get_by_label("Select all").check()
    expect(bar).to_contain_text("5 selected")
    page.get_by_label("Select My own taxi").uncheck()
    expect(bar).to_contain_text("4 selected")
    page.get_by_label("Select My own taxi").check()
    expect(page.get_by_label("Select all")).to_be_checked()
    page.get_by_placeholder("Comment for each (optional)").fill("Within policy")
    _shot(page, "inbox-bulk-selection", tmp_path)

    bar.get_by_role("button", name="Approve selected").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Approve 5 requests?")
    _shot(page, "inbox-bulk-confirm", tmp_path)
    assert act(client, raced, bob, resolution="Approve").status_code == 200  # bob is first while ann reads
    dialog.get_by_role("button", name="Approve 5").click()

    report = page.locator(".wf-bulk-report")
    expect(report).to_have_text(f"3 approved; 1 was already decided by {bob}; 1 you may not decide")
    expect(page.locator(f'article[data-request="{fine[0]}"] .wf-feedback')).to_contain_text("Done")
    expect(page.locator(f'article[data-request="{own}"] .wf-feedback')).to_contain_text("Not allowed")
    _shot(page, "inbox-bulk-report", tmp_path)

    for rid in fine:
        [request] = [r for r in run_detail(client, rid.rpartition(":")[0])["requests"] if r["id"] == rid]
        assert request["status"] == "resolved" and request["decisions"][0]["comment"] == "Within policy"
    [still] = [r for r in run_detail(client, own.rpartition(":")[0])["requests"] if r["id"] == own]
    assert still["status"] == "pending"


def test_cancelling_the_confirmation_decides_nothing(client, open_page):
    ann = person("ann")
    ids = [_waiting(client, person("req"), f"Desk {i}", [ann]) for i in range(2)]
    page = open_page("/ui/inbox/", user=ann)
    expect(page.locator("article.wf-card")).to_have_count(2)
    page.get_by_label("Select all").check()
    page.locator(".wf-bulk-bar").get_by_role("button", name="Reject selected").click()
    page.get_by_role("dialog").get_by_role("button", name="Keep it").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".wf-bulk-report")).to_be_empty()
    for rid in ids:
        assert pending_requests(client, rid.rpartition(":")[0])[0]["id"] == rid
