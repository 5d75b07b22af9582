# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""The Analytics tab in a real browser (Chromium, headless) against the real API, worker, Temporal and Redis: the
history panel's tab with a person's own figures, its empty, loading and error states, and the settings page's
section with everyone's. Screenshots go to $ANALYTICS_SCREENSHOTS (docs/screenshots/ when refreshing them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.conftest import ADMIN_KEY, auth
from tests.panels_browser import base_url, browser, open_page  # noqa: F401  fixtures
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.test_settings_browser import settings_page, sign_in


@pytest.fixture
def shots(tmp_path: Path):
    folder = Path(os.environ.get("ANALYTICS_SCREENSHOTS") or tmp_path)

    def take(target: Page | Locator, name: str) -> None:
        page = target if isinstance(target, Page) else target.page
        page.wait_for_timeout(250)  # let the skeleton's animation frame settle for the picture (not an assertion)
        if isinstance(target, Page):
            target.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        else:
            target.screenshot(path=str(folder / f"{name}.png"))
    return take


def decided_requests(client, boss: str, count: int) -> None:
    """``count`` requests to ``boss`` (some with a due time), all approved by ``boss``."""
    specs = [{"name": f"r{i}", "users": [boss], **({"due_in_seconds": 600} if i % 2 else {})} for i in range(count)]
    run_id = start_probe(client, person("req"), specs, parallel=True)
    for request in pending_requests(client, run_id, count):
        assert act(client, request["id"], boss, resolution="Approve").status_code == 200


def analytics_tab(open_page, user: str) -> Page:
    page = open_page("/ui/history/", user=user)
    page.get_by_role("tab", name="Analytics").click()
    return page


def test_the_history_tab_shows_a_persons_own_figures_with_charts(client, open_page, shots):
    boss = person("boss")
    decided_requests(client, boss, 3)
    page = analytics_tab(open_page, boss)
    tiles = page.locator(".wfa-tile")
    expect(page.locator('[data-figure="Opened"] .wfa-tile-value')).to_have_text("3")
    expect(page.locator('[data-figure="Decided"] .wfa-tile-value')).to_have_text("3")
    expect(page.locator('[data-figure="Decided by due time"] .wfa-tile-value')).to_have_text("100%")
    expect(tiles).to_have_count(6)
    chart = page.get_by_role("img", name="Time to decision per query")
    expect(chart.locator('[data-label="approval_probe"] rect')).to_have_count(2)  # p50 and p90 bars
    expect(page.locator('[data-overdue="none"]')).to_have_text("Nothing is overdue right now.")
    expect(page.locator('tr[data-row="approval_probe"] td').nth(2)).to_have_text("3")
    shots(page, "history-analytics")
    page.get_by_label("Group by", exact=True).select_option("assignee")
    expect(page.locator("tr[data-row]")).to_have_count(1)  # only the person's own row
    expect(page.locator(f'tr[data-row="{boss}"]')).to_be_visible()
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator("#history-analytics")).to_be_hidden()


def test_the_tab_has_finished_empty_loading_and_error_states(open_page, shots):
    page = analytics_tab(open_page, person("new"))
    expect(page.get_by_text("No requests in this range")).to_be_visible()
    shots(page, "history-analytics-empty")

    held: list[Route] = []
    page.route("**/api/v1/analytics/requests*", lambda route: held.append(route))
    page.get_by_label("Range", exact=True).select_option("7")
    expect(page.locator(".wfa[aria-busy=true] .wfa-tile-loading")).to_have_count(6)
    shots(page, "history-analytics-loading")
    page.wait_for_timeout(100)
    held[-1].fulfill(status=503, content_type="application/json",
                     body='{"error":{"code":"service_unavailable","message":"Redis is unavailable; try again in a '
                          'moment","details":{"service":"redis"}}}')
    expect(page.get_by_role("alert")).to_have_text("Could not load the analytics: Redis is unavailable; try again "
                                                   "in a moment")
    shots(page, "history-analytics-error")
    page.unroute("**/api/v1/analytics/requests*")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_text("No requests in this range")).to_be_visible()


def test_the_settings_section_shows_everyones_figures(client, browser, base_url, shots):
    boss = person("boss")
    decided_requests(client, boss, 2)
    page = settings_page(browser, base_url)
    sign_in(page, ADMIN_KEY)
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_role("link", name="Request analytics").click()  # scrolls there, still signed in
    section = page.locator("#analytics")
    expect(section.get_by_role("heading", name="Request analytics")).to_be_visible()
    expect(section.get_by_role("img", name="Time to decision per query")).to_be_visible()
    section.get_by_label("Group by", exact=True).select_option("assignee")
    expect(section.locator(f'tr[data-row="{boss}"] td').nth(2)).to_have_text("2")
    section.get_by_label("Group by", exact=True).select_option("query")
    expect(section.locator('tr[data-row="approval_probe"]')).to_be_visible()
    shots(section, "settings-analytics")
    assert not page.errors  # type: ignore[attr-defined]


# A host that binds the panel as Appsmith does: model in through onModelChange, events out through triggerEvent.
FAKE_APPSMITH = """
window.__events = [];
window.appsmith = {
  onReady(fn) { fn(); },
  onModelChange(fn) { window.__setModel = fn; fn({runs: {runs: [], next_cursor: null}}); },
  triggerEvent(name, context) { window.__events.push([name, context]); },
  updateModel() {},
};
"""


def test_bound_the_tab_asks_the_host_and_shows_the_model_it_gets(client, browser, base_url):
    boss = person("boss")
    decided_requests(client, boss, 2)
    answer = client.get("/api/v1/analytics/requests", headers=auth(user=boss)).json
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    page.add_init_script(FAKE_APPSMITH)
    page.goto(f"{base_url}/ui/history/")
    page.get_by_role("tab", name="Analytics").click()
    expect(page.get_by_text("No analytics bound")).to_be_visible()
    assert page.evaluate("window.__events.map(e => e[0] + ':' + e[1].group_by)") == ["analytics:query"]
    page.evaluate("answer => window.__setModel({runs: {runs: []}, analytics: answer})", answer)
    expect(page.locator('[data-figure="Decided"] .wfa-tile-value')).to_have_text("2")
    page.get_by_label("Group by", exact=True).select_option("assignee")
    assert page.evaluate("window.__events.at(-1)[1].group_by") == "assignee"
