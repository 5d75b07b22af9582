"""The Budibase recipe, run literally by the Budibase emulator against the real stack over HTTP.

The emulator imports the live /openapi.json the way Budibase's OpenAPI 3 importer does, the builder's edits are
the recipe's, and every click sends the recipe's bindings as Budibase's browser and server evaluate them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import APP_KEY
from tests.hosts import scenarios
from tests.hosts.budibase import BudibaseServer, QueryFailed, import_openapi
from tests.hosts.budibase_templates import browser_value, page_value
from tests.hosts.common import live_api, placeholders, recipe
from tests.hosts.scenarios import Outcome, RunRowClicks, email


class BudibaseSession(RunRowClicks):
    """The app the recipe builds (a datasource imported from the plugin, the recipe's actions), clicked."""

    def __init__(self, base_url: str, spec: dict[str, Any], json_templates: bool = False) -> None:
        self.spec = placeholders(spec, {"app key": APP_KEY, "plugin URL": base_url})
        doc = requests.get(self.spec["datasource"]["import"], timeout=10).json()
        self.imported = import_openapi(doc)  # as imported, before the builder's edits
        source = import_openapi(doc)
        source.headers.update(self.spec["datasource"]["headers"])
        for name, edits in self.spec["queries"].items():
            for binding in edits.get("unquote", []):  # the builder's edit of the imported body
                quoted = f'"{{{{ {binding} }}}}"'
                assert quoted in source.queries[name].body, f"{name}'s imported body has no {quoted}"
                source.queries[name].body = source.queries[name].body.replace(quoted, f"{{{{ {binding} }}}}")
        self.server = BudibaseServer(source, json_templates)
        self.actions = {a["id"]: a for a in self.spec["actions"]}

    def click(self, action: str, user: dict[str, Any], **page: Any) -> Outcome:
        """``user`` triggers one of the recipe's actions on a page holding ``page`` (forms, clicked row, state)."""
        spec = self.actions[action]
        context = {"Current User": user, **page}
        params = {name: browser_value(value, context) for name, value in spec["bind"].items()}
        answer = self.server.execute(spec["query"], params, user)
        return Outcome(answer.code, answer.rows[0] if answer.rows else None, answer.sent)

    def act(self, action: str, user: dict[str, Any], state: dict[str, Any]) -> Outcome:
        """A click in the emulated page (tests/hosts/host_page.py): ``state`` is the page's binding context."""
        return self.click(action, user, **state)

    def show(self, template: str, user: dict[str, Any], state: dict[str, Any]) -> Any:
        """A component's setting as Budibase's client evaluates it over the page's context."""
        return page_value(template, {"Current User": user, **state})

    def submit(self, who, amount=640, description="Conference"):
        return self.click("submit", who, ExpenseForm={"Fields": {"amount": amount, "description": description}})

    def inbox(self, who):
        return self.click("inbox", who)

    def decide(self, button, who, request, comment=""):
        return self.click(button, who, **{"Clicked row": request, "DecisionForm": {"Fields": {"comment": comment}}})

    def runs(self, who, cursor="", **filters):
        fields = {name: filters.get(name, "") for name in ("status", "query", "started_by", "since", "until", "limit")}
        return self.click("runs", who, RunFilters={"Fields": fields}, State={"cursor": cursor})

    def click_run_row(self, action, who, run_id):
        return self.click(action, who, **{"Clicked row": {"id": run_id}})


@pytest.fixture(scope="module")
def budibase(app) -> Iterator[BudibaseSession]:
    with live_api(app) as base_url:
        yield BudibaseSession(base_url, recipe("budibase"))


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, Any]]:
    """Budibase users as its server knows them (``ctx.user``): email and app role id (``managers``: a custom
    role, whose id is its name)."""
    roles = {"ann": "BASIC", "bob": "managers", "carol": "managers", "dave": "BASIC"}
    return {name: {"email": email(name), "roleId": role, "firstName": name} for name, role in roles.items()}


def test_the_import_leaves_identity_to_the_datasource_and_prefills_nothing(budibase):
    """Issue 23 item 10: no browser-supplied identity, no example values as defaults, Budibase's binding names."""
    identity = {"X-Workflows-User", "X-Workflows-Groups", "X-Workflows-Identity"}
    for query in budibase.imported.queries.values():
        assert not identity & set(query.parameters) and not identity & set(query.headers), query.name
    assert identity <= set(budibase.imported.headers)
    trigger = budibase.imported.queries["triggerSubmitExpense"]
    assert {k: v for k, v in trigger.parameters.items() if k.startswith("input_")} == {
        "input_employee": "", "input_amount": "0", "input_description": ""}
    assert budibase.imported.queries["resolveRequest"].parameters["resolution"] == ""


def test_trigger_names_each_bad_field_then_the_run_progresses(budibase, people):
    scenarios.field_errors_then_progress(budibase, people["ann"])
    again = budibase.submit(people["ann"], amount=-1)
    assert len(again.sent) == 2, "Budibase runs a query once more after an answer of 400 or more"
    assert again.sent[0]["headers"]["Idempotency-Key"] == "" and again.sent[0]["url"].endswith("?wait=")


def test_the_user_and_groups_come_from_budibase_not_the_browser(budibase, people):
    """Issue 23 item 9: X-Workflows-Groups sent, from the user's app role on Budibase's server; a browser
    parameter cannot replace ``user``."""
    ann = people["ann"]
    page = {"Current User": ann, "ExpenseForm": {"Fields": {"amount": 5, "description": "x"}}}
    params = {name: browser_value(value, page) for name, value in budibase.actions["submit"]["bind"].items()}
    forged = {**params, "user": {"email": "boss@example.com", "roleId": "managers"}}
    answer = budibase.server.execute("triggerSubmitExpense", forged, ann)
    assert answer.sent[0]["headers"]["X-Workflows-User"] == ann["email"]
    assert answer.sent[0]["headers"]["X-Workflows-Groups"] == "BASIC"
    listing = budibase.inbox(people["bob"])
    assert listing.sent[0]["headers"]["X-Workflows-Groups"] == "managers"


def test_approve_and_reject_each_decide_what_they_say(budibase, people):
    """With a comment holding a double quote, a backslash and a newline: the buttons pass it JSON-encoded (a
    JavaScript binding) into an unquoted slot of the body, so it arrives exactly as typed."""
    scenarios.approve_and_reject(budibase, people["ann"], people["bob"])


def test_the_recipe_also_holds_in_the_later_budibase_json_body_rendering(app, people):
    """The later Budibase parses the JSON body before filling it (processJsonStringSync): same result."""
    with live_api(app) as base_url:
        later = BudibaseSession(base_url, recipe("budibase"), json_templates=True)
        scenarios.approve_and_reject(later, people["ann"], people["bob"])


@pytest.mark.parametrize("json_templates", [False, True], ids=["3.x", "later"])
def test_a_plain_binding_in_the_imported_body_breaks_on_hard_text(budibase, people, json_templates):
    """Why the recipe does not keep the imported ``"comment": "{{ comment }}"`` with a plain binding: 3.x pastes
    the text into the JSON (a ``"`` makes it invalid); the later rendering keeps the quote but turns the newline
    into the two characters ``\\n``."""
    source = import_openapi(requests.get(budibase.spec["datasource"]["import"], timeout=10).json())
    source.headers.update(budibase.spec["datasource"]["headers"])
    imported = BudibaseServer(source, json_templates)
    request = scenarios.waiting_request(budibase, people["ann"], people["bob"])
    params = {"request_id": request["id"], "resolution": "Approve", "comment": scenarios.HARD_TEXT}
    if not json_templates:
        with pytest.raises(QueryFailed, match="Invalid JSON"):
            imported.execute("resolveRequest", params, people["bob"])
        return
    answer = imported.execute("resolveRequest", params, people["bob"])
    assert answer.code == 200, answer.rows
    sent = json.loads(answer.sent[0]["body"])["comment"]
    assert sent != scenarios.HARD_TEXT and sent == scenarios.HARD_TEXT.replace("\n", "\\n")


def test_two_managers_race_and_the_second_hears_who_decided(budibase, people):
    scenarios.race(budibase, people["ann"], people["bob"], people["carol"])


def test_a_refused_decision_says_why(budibase, people):
    scenarios.refused(budibase, people["ann"], people["bob"], people["dave"])
    nothing = budibase.decide("approve", people["bob"], {})  # no row clicked: an empty request_id
    assert 400 <= nothing.code < 500 and nothing.body["error"]["message"], nothing.body


def test_history_filters_page_cancel_and_retry(budibase, people):
    scenarios.history(budibase, people["ann"])
