"""How the panels fit Appsmith's custom widget as the emulator runs it: a Default Model wired the wrong way is
survived and explained, Auto Height grows the widget to its content, and the app theme's flat shadow is kept."""

from __future__ import annotations

import copy
import uuid

import pytest
from playwright.sync_api import expect

from tests.hosts.appsmith_emulator import AppsmithPage, AppsmithServer, AppsmithUser
from tests.hosts.appsmith_fixtures import *  # noqa: F403  the fixtures
from tests.panels_browser import base_url, browser  # noqa: F401
from tests.requests_helpers import pending_requests, person
from tests.test_expense_flow import submit

QUOTED = '{"requests": "{{GetRequests.data}}", "result": "{{ResolveRequest.data}}"}'  # what the old guide printed


def variant(server: AppsmithServer, model: str, load_requests: bool = True) -> AppsmithServer:
    recipe = copy.deepcopy(server.recipe)
    next(w for w in recipe["widgets"] if w["name"] == "Approvals")["default_model"] = model
    next(q for q in recipe["queries"] if q["name"] == "GetRequests")["run_on_page_load"] = load_requests
    return AppsmithServer(recipe, server.plugin_url, server.app_key, server.signature_secret)


@pytest.fixture
def page_with(browser, appsmith_server, idp):  # noqa: F811
    opened: list[AppsmithPage] = []

    def open_it(model: str, load_requests: bool = True) -> AppsmithPage:
        email = person("mgr")
        claims = idp.claims(email, ["managers"], lifetime=900)
        opened.append(AppsmithPage(browser, variant(appsmith_server, model, load_requests),
                                   AppsmithUser(email, idp.keys[0].sign(claims), claims)))
        return opened[-1]

    yield open_it
    for page in opened:
        page.close()


def test_a_quoted_default_model_is_explained_not_shown_as_loading_forever(client, page_with):
    pending_requests(client, submit(client, person("ann"), 400, f"Quoted {uuid.uuid4().hex[:6]}").json["run_id"])
    page = page_with(QUOTED)  # objects inside quotes: not valid JSON once filled in, so Appsmith gives {}
    assert page.widget_errors()["Approvals"], "the emulator, like Appsmith, finds the model invalid"
    notice = page.widget("Approvals").locator(".wf-wiring")
    expect(notice).to_contain_text("mis-wired")
    expect(notice).to_contain_text("{{ {")


def test_an_unrun_query_in_quotes_gives_the_text_undefined_and_a_notice(page_with):
    page = page_with(QUOTED, load_requests=False)  # "{{GetRequests.data}}" before the query ran: "undefined"
    inbox = page.widget("Approvals")
    expect(inbox.locator(".wf-wiring")).to_contain_text("“requests”, “result” arrived as text")
    expect(inbox.locator(".wf-empty")).to_have_count(0)  # not "all caught up" on a mis-wired model


def test_data_passed_as_json_text_is_read_back(client, page_with):
    what = f"Text {uuid.uuid4().hex[:6]}"
    pending_requests(client, submit(client, person("ann"), 410, what).json["run_id"])
    page = page_with("{{ {requests: JSON.stringify(GetRequests.data), result: ResolveRequest.data} }}")
    inbox = page.widget("Approvals")
    expect(inbox.locator("article.wf-card", has_text=what)).to_be_visible()  # parsed, so it works
    expect(inbox.locator(".wf-wiring")).to_contain_text("“requests”")


def test_auto_height_grows_the_widget_to_all_of_its_content(client, open_appsmith):
    for run_id in [submit(client, person("ann"), 300 + i, f"Tall {uuid.uuid4().hex[:6]}").json["run_id"]
                   for i in range(4)]:
        pending_requests(client, run_id)
    page = open_appsmith(person("bob"), ["managers"])
    inbox = page.widget("Approvals")
    expect(inbox.locator("article.wf-card").nth(3)).to_be_visible()
    frame = page.page.locator('section[data-widget="Approvals"] iframe')
    content = inbox.locator(".wf").first

    def fits() -> bool:
        height = frame.evaluate("f => f.getBoundingClientRect().height")
        return height > 600 and content.evaluate("el => el.scrollHeight") <= height + 1

    page.page.wait_for_function("1", timeout=1000)
    deadline = __import__("time").monotonic() + 20
    while not fits() and __import__("time").monotonic() < deadline:
        page.page.wait_for_timeout(250)
    assert fits(), (frame.evaluate("f => f.getBoundingClientRect().height"), content.evaluate("el => el.scrollHeight"))


def test_the_apps_flat_theme_has_no_card_shadow(client, open_appsmith):
    what = f"Flat {uuid.uuid4().hex[:6]}"
    pending_requests(client, submit(client, person("ann"), 420, what).json["run_id"])
    inbox = open_appsmith(person("bob"), ["managers"]).widget("Approvals")
    card = inbox.locator("article.wf-card", has_text=what)
    expect(card).to_be_visible()
    assert card.evaluate("el => getComputedStyle(el).boxShadow") == "none"  # the recipe's theme: boxShadow none
    assert card.evaluate("el => getComputedStyle(el.closest('.wf')).getPropertyValue('--wf-primary')") == "#553DE9"
