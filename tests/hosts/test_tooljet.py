"""The ToolJet recipe, run literally by the ToolJet emulator (Enterprise: ``globals.server`` on the server) against
the real stack over HTTP: every query's options resolved as ToolJet's browser and server do, sent as its REST
API plugin does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import APP_KEY
from tests.hosts import scenarios
from tests.hosts.common import live_api, placeholders, recipe
from tests.hosts.scenarios import Outcome, RunRowClicks, email
from tests.hosts.tooljet import QueryFailed, resolve, run_query

FILTERS = ("status", "query", "started_by", "since", "until", "limit")


class ToolJetSession(RunRowClicks):
    """The app the recipe builds (the REST API data source, its queries, the events that run them), clicked."""

    def __init__(self, base_url: str, spec: dict[str, Any]) -> None:
        self.spec = placeholders(spec, {"app key": APP_KEY, "plugin URL": base_url})
        self.source = {"url": self.spec["datasource"]["url"],
                       "headers": [list(h) for h in self.spec["datasource"]["headers"].items()]}
        identity = [list(h) for h in self.spec["query_headers"].items()]
        self.queries = {name: {**q, "headers": [*q.get("headers", []), *identity]}
                        for name, q in self.spec["queries"].items()}
        self.actions = {a["id"]: a for a in self.spec["actions"]}

    def click(self, action: str, user: dict[str, Any], components: dict[str, Any] | None = None,
              cursor: str = "", query: dict[str, Any] | None = None) -> Outcome:
        """``user`` fires one of the recipe's events; ``components`` holds the page's widget state."""
        return self.act(action, user, {"components": components or {}, "variables": {"cursor": cursor}}, query)

    def act(self, action: str, user: dict[str, Any], state: dict[str, Any],
            query: dict[str, Any] | None = None) -> Outcome:
        """Fire an event with the app's state (``components``, ``variables``, ``queries``: the emulated page's)."""
        spec = self.actions[action]
        answer = run_query(self.source, query or self.queries[spec["query"]], self._scope(user, state), user,
                           spec["bind"], self.spec["edition"])
        return Outcome(answer.code, answer.data, [answer.sent])

    def show(self, template: str, user: dict[str, Any], state: dict[str, Any]) -> Any:
        """A component's property as ToolJet's browser resolves it."""
        return resolve(template, self._scope(user, state))

    @staticmethod
    def _scope(user: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        return {"components": {}, "queries": {}, "variables": {}, "page": {}, **state, "globals": {"currentUser": user}}

    def submit(self, who, amount=640, description="Conference"):
        return self.click("submit", who, {"amount": {"value": amount}, "description": {"value": description}})

    def inbox(self, who):
        return self.click("inbox", who)

    def decide(self, button, who, request, comment="", query=None):
        return self.click(button, who, {"table1": {"selectedRow": request}, "textarea1": {"value": comment}},
                          query=query)

    def runs(self, who, cursor="", **filters):
        return self.click("runs", who, {name: {"value": filters.get(name, "")} for name in FILTERS}, cursor)

    def click_run_row(self, action, who, run_id):
        return self.click(action, who, {"table2": {"selectedRow": {"id": run_id}}})


@pytest.fixture(scope="module")
def tooljet(app) -> Iterator[ToolJetSession]:
    with live_api(app) as base_url:
        yield ToolJetSession(base_url, recipe("tooljet"))


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, Any]]:
    """ToolJet users as ``globals.currentUser`` and ``globals.server.currentUser`` show them."""
    groups = {"ann": [], "bob": ["managers"], "carol": ["managers"], "dave": []}
    return {name: {"email": email(name), "firstName": name, "groups": ["all_users", *extra]}
            for name, extra in groups.items()}


def test_trigger_names_each_bad_field_then_the_run_progresses(tooljet, people):
    scenarios.field_errors_then_progress(tooljet, people["ann"])
    sent = tooljet.inbox(people["bob"]).sent[0]["headers"]
    assert (sent["X-Workflows-User"], sent["X-Workflows-Groups"]) == (people["bob"]["email"], "all_users,managers")


def test_approve_and_reject_each_decide_what_they_say(tooljet, people):
    """Issue 23 item 11: one query, the resolution passed by each button as the event's parameter, the comment
    JSON-quoted (a double quote in it included)."""
    scenarios.approve_and_reject(tooljet, people["ann"], people["bob"])


@pytest.mark.parametrize(("body", "breaks"), [
    ('{"resolution": "Approve", "comment": {{components.textarea1.value}}}', "invalid JSON"),
    ('{"resolution": "Approve", "comment": {{JSON.stringify(components.textarea1.value)}}}', "Reject approves"),
])
def test_the_old_guides_resolve_query_fails_in_tooljet(tooljet, people, body, breaks):
    """What the guide said before the fix: ToolJet makes invalid JSON of the unquoted comment, and a query whose
    body says "Approve" approves whichever button ran it."""
    request = scenarios.waiting_request(tooljet, people["ann"], people["bob"])
    old = {**tooljet.queries["ResolveRequest"], "json_body": body}
    if breaks == "invalid JSON":
        with pytest.raises(QueryFailed):
            tooljet.decide("reject", people["bob"], request, "no receipt", query=old)
    else:
        assert tooljet.decide("reject", people["bob"], request, "no receipt", query=old).body["resolution"] == "Approve"


def test_two_managers_race_and_the_second_hears_who_decided(tooljet, people):
    scenarios.race(tooljet, people["ann"], people["bob"], people["carol"])


def test_a_refused_decision_says_why(tooljet, people):
    scenarios.refused(tooljet, people["ann"], people["bob"], people["dave"])


def test_history_filters_page_cancel_and_retry(tooljet, people):
    scenarios.history(tooljet, people["ann"])
