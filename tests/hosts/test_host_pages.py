"""The Budibase, ToolJet and Retool recipes clicked in a page: the app each recipe builds, rendered in Chromium
(tests/hosts/host_page.py: our rendering of the recipe's components, the host's bindings and queries from its
emulator), used by an employee and a manager against the real stack, with a screenshot of each screen.

Screenshots go to the folder named by HOST_SCREENSHOTS (docs/screenshots for the guides), else to a temporary
folder: taking them is part of the test either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import APP_KEY
from tests.hosts import scenarios
from tests.hosts.common import live_api, placeholders, recipe
from tests.hosts.host_page import HostPage
from tests.hosts.test_budibase import BudibaseSession
from tests.hosts.test_retool import RetoolSession
from tests.hosts.test_tooljet import ToolJetSession
from tests.identity_helpers import LocalIdp, create_key
from tests.panels_browser import browser  # noqa: F401  (the fixture)
from tests.requests_helpers import finished, pending_requests

SESSIONS = {"budibase": BudibaseSession, "tooljet": ToolJetSession, "retool": RetoolSession}
# The recipe's component names a person sees next to each field or on each button, per host.
NAMES = {
    "budibase": {"submit": "Submit", "comment": "comment", "started_by": "started_by"},
    "tooljet": {"submit": "submit", "comment": "textarea1", "started_by": "started_by"},
    "retool": {"submit": "Submit", "comment": "textArea1", "started_by": "startedByInput"},
}


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdp]:
    provider = LocalIdp()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def live(app) -> Iterator[str]:
    with live_api(app) as base_url:
        yield base_url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOST_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def host_user(host: str, name: str, manager: bool, idp: LocalIdp) -> dict[str, Any]:
    """A signed-in user as the host's binding context shows them, with the IdP token the iframes use."""
    email = scenarios.email(name)
    token = idp.token(email, ["managers"] if manager else [])
    if host == "budibase":
        return {"email": email, "firstName": name, "roleId": "managers" if manager else "BASIC",
                "oauth2": {"accessToken": token}}
    if host == "tooljet":
        return {"email": email, "firstName": name, "groups": ["all_users", *(["managers"] * manager)],
                "ssoUserInfo": {"id_token": token}}
    return {"email": email, "firstName": name,
            "groups": [{"id": 1, "name": "All Users"}, *([{"id": 2, "name": "managers"}] * manager)]}


def built_app(host: str, app, live: str, idp: LocalIdp) -> tuple[dict[str, Any], Any]:
    """The recipe with its placeholders filled (a key for the panels' iframes made) and its host session."""
    key = create_key(app.test_client(), name=f"{host}-panels", scope="app",
                     identity={"schemes": ["oidc"], "oidc": idp.oidc_config()})["secret"]
    spec = placeholders(recipe(host), {"app key": APP_KEY, "plugin URL": live, "public URL": live,
                                       "oidc app key": key})
    return spec, SESSIONS[host](live, recipe(host))


@pytest.mark.parametrize("host", list(SESSIONS))
def test_the_recipe_clicked_in_the_page(host, browser, app, client, live, idp, shots):  # noqa: F811
    """Field errors then a run, the manager's inbox (table and the embedded inbox panel) and an Approve with a
    hard comment, then the runs table: filter, details, cancel and retry. Every answer is shown in the page."""
    spec, session = built_app(host, app, live, idp)
    names = NAMES[host]
    ann, bob = host_user(host, "ann", False, idp), host_user(host, "bob", True, idp)
    pages: list[HostPage] = []
    try:
        employee = HostPage(browser, spec, session, ann, ann["email"])
        pages.append(employee)
        expenses = employee.screen("Expenses")
        submit = expenses.get_by_role("button", name=names["submit"], exact=True)
        employee.field("Expenses", "amount").fill("-5")
        refused = employee.acting(submit.click)
        assert refused.code == 422, refused.body
        expect(expenses.locator(".answer")).to_contain_text("input.amount")
        employee.shot("Expenses", shots / f"hosts-{host}-refused.png")
        employee.field("Expenses", "amount").fill("640")
        employee.field("Expenses", "description").fill('Monitor 27" \\ stand')
        started = employee.acting(submit.click)
        assert started.code == 202, started.body
        run_id = started.body["run_id"]
        expect(expenses.locator(".answer")).to_contain_text(run_id)
        employee.shot("Expenses", shots / f"hosts-{host}-employee.png")

        [request] = pending_requests(client, run_id)
        manager = HostPage(browser, spec, session, bob, bob["email"])
        pages.append(manager)
        inbox = manager.screen("Inbox")
        manager.acting(inbox.get_by_role("button", name="Refresh").click)
        row = manager.row("Inbox", request["id"])
        expect(row).to_be_visible()
        if inbox.locator("iframe").count():
            panel = inbox.frame_locator("iframe")
            expect(panel.locator(f'article.wf-card[data-request="{request["id"]}"]')).to_be_visible()
        manager.field("Inbox", names["comment"]).fill(scenarios.HARD_TEXT)
        manager.shot("Inbox", shots / f"hosts-{host}-inbox.png")
        decided = manager.acting(row.get_by_role("button", name="Approve").click)
        assert decided.code == 200 and decided.body["resolution"] == "Approve", decided.body
        expect(inbox.locator(".answer")).to_contain_text("resolution Approve")
        expect(row).to_have_count(0)  # the inbox ran again after the decision
        decision = finished(client, run_id)["decisions"][0]
        assert (decision["actor"], decision["comment"]) == (bob["email"], scenarios.HARD_TEXT)

        second = employee.acting(submit.click).body["run_id"]
        pending_requests(client, second)
        runs = employee.screen("Runs")
        started_by = employee.field("Runs", names["started_by"])
        started_by.fill(ann["email"])
        employee.acting(lambda: started_by.press("Tab"))  # a filter change runs the list
        assert employee.outcomes[-1][1].code == 200, employee.outcomes[-1]
        expect(employee.row("Runs", second)).to_be_visible()
        row = employee.row("Runs", run_id)
        details = row.get_by_role("button", name="Details")  # Budibase: a button column; ToolJet, Retool: Row click
        employee.acting(details.click if host == "budibase" else row.locator("td").first.click)
        expect(runs.locator(".text")).to_contain_text("completed")
        cancelled = employee.acting(employee.row("Runs", second).get_by_role("button", name="Cancel").click)
        assert cancelled.code == 200, cancelled.body
        assert finished(client, second)["status"] == "cancelled"
        retried = employee.acting(employee.row("Runs", second).get_by_role("button", name="Retry").click)
        assert retried.code == 202 and retried.body["retry_of"] == second, retried.body
        expect(runs.locator(".answer")).to_contain_text(f"retry_of {second}")
        expect(employee.row("Runs", retried.body["run_id"])).to_be_visible()
        employee.shot("Runs", shots / f"hosts-{host}-runs.png")
        assert not [e for p in pages for e in p.errors], [e for p in pages for e in p.errors]
    finally:
        for page in pages:
            page.close()


@pytest.mark.parametrize("host", list(SESSIONS))
def test_two_managers_in_their_pages_and_the_second_reads_who_decided(host, browser, app, client, live, idp,  # noqa: F811
                                                                      shots):
    """Both managers have the request in their inbox; the first approves, the second (page not reloaded) clicks
    Reject and reads the plugin's 409 naming who decided, in the page."""
    spec, session = built_app(host, app, live, idp)
    ann = host_user(host, "ann", False, idp)
    bob, carol = host_user(host, "bob", True, idp), host_user(host, "carol", True, idp)
    request = scenarios.waiting_request(session, ann, bob)
    pages = [HostPage(browser, spec, session, who, who["email"]) for who in (bob, carol)]
    try:
        for page in pages:
            expect(page.row("Inbox", request["id"])).to_be_visible()
        first = pages[0].acting(pages[0].row("Inbox", request["id"]).get_by_role("button", name="Approve").click)
        assert first.code == 200, first.body
        second = pages[1].acting(pages[1].row("Inbox", request["id"]).get_by_role("button", name="Reject").click)
        assert second.code == 409 and bob["email"] in second.body["error"]["message"], second.body
        answer = pages[1].screen("Inbox").locator(".answer")
        expect(answer).to_contain_text("reject → 409: ")
        expect(answer).to_contain_text(bob["email"])
        pages[1].shot("Inbox", shots / f"hosts-{host}-race.png")
        assert not [e for p in pages for e in p.errors]
    finally:
        for page in pages:
            page.close()
