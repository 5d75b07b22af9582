# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""Answers that come back out of order, in a real browser (Chromium, headless) against the real API: a panel asks
again (a live event, a filter change) while an earlier request is still on its way, and the earlier answer comes
last. The panel must keep showing the latest answer. Each test holds a panel's first request in the browser,
answers it only after a later one has been shown, as the server answered it when it was asked, and waits until
the page has read that answer. What is on screen then is checked at once, not waited for: a later refresh (the
run history's catch-ups) could put the latest state back and hide the fault."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import APIResponse, Browser, Page, Route, expect

from tests.conftest import APP_KEY
from tests.panels_browser import base_url, browser  # noqa: F401  fixtures
from tests.requests_helpers import act, pending_requests, person, start_probe
from tests.test_analytics_browser import decided_requests

# Marks when the page has read the held answer's body: the panel's code that follows the read runs in the same
# task, so once the mark is seen from a later task, whatever the panel does with that answer is on screen.
HELD_ANSWER_READ = """
window.__heldRead = false;
const readJson = Response.prototype.json;
Response.prototype.json = function json() {
  const held = this.headers.get("x-test-held") === "1";
  return readJson.call(this).then((value) => { if (held) window.__heldRead = true; return value; });
};
"""


class FirstHeld:
    """The page's first request to ``url`` is held: ``read()`` asks the server for its answer at once, and the page
    gets that answer only on ``release()``. Later requests to ``url`` go through."""

    def __init__(self, page: Page, url: re.Pattern[str]) -> None:
        self.page = page
        self.route: Route | None = None
        self.response: APIResponse | None = None
        page.route(url, self._handle)

    def _handle(self, route: Route) -> None:
        if self.route is not None:
            route.continue_()
            return
        self.route = route

    def read(self) -> None:
        """Wait until the first request is held, then ask the server for its answer (the answer as it is now)."""
        deadline = time.monotonic() + 30
        while self.route is None and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)  # lets Playwright hand the held request over
        assert self.route is not None, "the page asked"
        self.response = self.route.fetch()
        while not self.response.ok and time.monotonic() < deadline:  # a run read just after its start may 404
            self.page.wait_for_timeout(100)
            self.response = self.route.fetch()
        assert self.response.ok, self.response.text()

    def release(self, status: int | None = None, body: str | None = None) -> None:
        """Answer the held request (as the server did, or with ``status``/``body``) and wait until it is read."""
        assert self.route is not None and self.response is not None, "the first request was held and read"
        headers = {**self.response.headers, "x-test-held": "1"}
        if status is None:
            self.route.fulfill(response=self.response, headers=headers)
        else:
            self.route.fulfill(status=status, headers={**headers, "content-type": "application/json"}, body=body)
        self.page.wait_for_function("window.__heldRead === true")


@pytest.fixture
def page_at(browser: Browser, base_url: str) -> Iterator:
    """page_at(path, hold=None, **fragment) -> (page, FirstHeld or None): a new page with the held-answer mark."""
    contexts = []
    errors: list[str] = []

    def open_it(path: str, hold: re.Pattern[str] | None = None, **fragment: str) -> tuple[Page, FirstHeld | None]:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.add_init_script(HELD_ANSWER_READ)
        first = FirstHeld(page, hold) if hold else None
        query = urlencode({"key": APP_KEY, **fragment})
        page.goto(f"{base_url}{path}#{query}")
        return page, first

    yield open_it
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the panels: {errors}"


def test_the_inbox_keeps_the_latest_list_when_the_first_answer_comes_last(client, page_at):
    boss = person("boss")
    page, first = page_at("/ui/inbox/", hold=re.compile(r"/api/v1/requests\?"), user=boss)
    first.read()  # nothing pending yet
    expect(page.locator(".wf-live")).to_have_text("Live")
    start_probe(client, person("req"), [{"name": "Opened meanwhile", "users": [boss]}])
    card = page.locator("article.wf-card", has_text="Opened meanwhile")
    expect(card).to_be_visible()  # the event's load, asked after the first
    first.release()  # the first load's answer: nothing was pending then
    assert card.is_visible(), "the first (empty) list replaced the later one"
    assert page.get_by_text("You are all caught up").count() == 0


def test_the_analytics_view_keeps_the_latest_filters_figures_when_the_first_answer_comes_last(client, page_at):
    boss = person("boss")
    decided_requests(client, boss, 2)
    page, _ = page_at("/ui/history/", user=boss)
    first = FirstHeld(page, re.compile(r"/api/v1/analytics/requests"))
    page.get_by_role("tab", name="Analytics").click()  # asks for the figures per query
    first.read()
    page.get_by_label("Group by", exact=True).select_option("assignee")  # then, before that answer, per assignee
    expect(page.locator(f'tr[data-row="{boss}"]')).to_be_visible()
    first.release()  # the figures per query
    assert page.locator(f'tr[data-row="{boss}"]').is_visible(), "the figures per query replaced those per assignee"
    assert page.locator('tr[data-row="approval_probe"]').count() == 0


def test_the_analytics_view_shows_no_error_of_an_earlier_request(page_at):
    page, _ = page_at("/ui/history/", user=person("new"))
    first = FirstHeld(page, re.compile(r"/api/v1/analytics/requests"))
    page.get_by_role("tab", name="Analytics").click()
    first.read()
    page.get_by_label("Range", exact=True).select_option("7")
    expect(page.get_by_text("No requests in this range")).to_be_visible()
    first.release(503, '{"error":{"code":"service_unavailable","message":"Redis is unavailable; try again in a '
                       'moment","details":{"service":"redis"}}}')
    assert page.get_by_text("No requests in this range").is_visible(), "the earlier request's error replaced the answer"
    assert page.get_by_role("alert").count() == 0
    assert page.locator(".wfa[aria-busy=true]").count() == 0


def test_the_trigger_form_keeps_the_latest_run_state_when_the_first_read_comes_last(client, page_at):
    ann, bob = person("ann"), person("bob")
    form, _ = page_at("/ui/trigger/", user=ann, query="submit_expense")
    expect(form.locator(".wf-live")).to_have_text("Live")
    first = FirstHeld(form, re.compile(r"/api/v1/runs/[^/?]+$"))  # the run read, not its steps
    form.get_by_label("Employee").fill(ann)
    form.get_by_label("Amount").fill("640")
    form.get_by_label("Description").fill("Held read")
    form.get_by_role("button", name="Submit").click()  # the first read follows the start: held
    first.read()  # the run is running or waiting: nobody has decided yet
    progress = form.locator(".wf-progress-area [data-run]")
    expect(progress.locator(".wf-chip")).to_have_text("waiting")  # read again on the run's event
    [request] = pending_requests(client, progress.get_attribute("data-run"))
    assert act(client, request["id"], bob, groups="managers", resolution="Approve").status_code == 200
    expect(progress.locator(".wf-chip")).to_have_text("completed")
    first.release()
    assert progress.locator(".wf-chip").text_content() == "completed"
    assert progress.locator("[role=alert]").count() == 0


def test_the_run_history_keeps_the_latest_list_when_the_first_answer_comes_last(client, page_at):
    ann = person("ann")
    page, first = page_at("/ui/history/", hold=re.compile(r"/api/v1/runs\?"), user=ann)
    first.read()  # no run yet
    expect(page.locator(".wf-live")).to_have_text("Live")
    run_id = start_probe(client, ann, [{"name": "Sign off", "users": [person("boss")]}])
    row = page.locator(f'tr[data-run="{run_id}"]')
    expect(row).to_be_visible()  # a later load (the run's event, or a catch-up)
    first.release()
    assert row.is_visible(), "the first (empty) list replaced the later one"
    assert page.get_by_text("No runs yet").count() == 0


def test_the_run_detail_keeps_the_latest_read_when_the_first_comes_last(client, page_at):
    ann, boss = person("ann"), person("boss")
    run_id = start_probe(client, ann, [{"name": "Sign off", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    page, _ = page_at("/ui/history/", user=ann)
    expect(page.locator(".wf-live")).to_have_text("Live")
    first = FirstHeld(page, re.compile(r"/api/v1/runs/[^/?]+$"))  # the run read, not the list or its steps
    page.locator(f'tr[data-run="{run_id}"]').click()
    first.read()  # waiting for the boss
    assert act(client, request["id"], boss, resolution="Approve").status_code == 200
    chip = page.locator(f'[data-detail="{run_id}"] > .wf-card-head > .wf-chip')
    expect(chip).to_have_text("completed")  # read again on the run's event
    first.release()
    assert chip.text_content() == "completed"


def test_out_of_office_keeps_a_saved_absence_when_the_first_read_comes_last(page_at):
    ann, bob = person("ann"), person("bob")
    page, first = page_at("/ui/inbox/", hold=re.compile(r"/api/v1/absences/me$"), user=ann)
    first.read()  # no absence yet
    page.get_by_role("button", name="Out of office").click()
    form = page.get_by_role("form", name="Out of office")
    form.get_by_label("Delegate").fill(bob)
    form.get_by_role("button", name="Save absence").click()
    expect(page.locator(".wf-ooo")).to_have_attribute("data-absence", "active")
    first.release()
    assert page.locator(".wf-ooo").get_attribute("data-absence") == "active"
    assert bob in page.locator(".wf-ooo-summary").text_content()
