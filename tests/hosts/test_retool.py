"""The Retool recipe, run literally by the Retool emulator against the real stack over HTTP: ``current_user`` in
the resource's headers filled on Retool's server, everything else from the app, each button's resolution passed
as ``additionalScope``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import APP_KEY
from tests.hosts import scenarios
from tests.hosts.common import live_api, placeholders, recipe
from tests.hosts.retool import run_query
from tests.hosts.scenarios import Outcome, RunRowClicks, email
from tests.hosts.tooljet import resolve

FILTERS = {"status": "statusInput", "query": "queryInput", "started_by": "startedByInput", "since": "sinceInput",
           "until": "untilInput", "limit": "limitInput"}


class RetoolSession(RunRowClicks):
    """The app the recipe builds (the REST API resource, its queries, the events that trigger them), clicked."""

    def __init__(self, base_url: str, spec: dict[str, Any]) -> None:
        self.spec = placeholders(spec, {"app key": APP_KEY, "plugin URL": base_url})
        self.actions = {a["id"]: a for a in self.spec["actions"]}

    def click(self, action: str, user: dict[str, Any], components: dict[str, Any] | None = None,
              cursor: str = "") -> Outcome:
        """``user`` fires one of the recipe's events; ``components`` holds the app's component state."""
        return self.act(action, user, {"cursor": {"value": cursor}, **(components or {})})

    def act(self, action: str, user: dict[str, Any], state: dict[str, Any]) -> Outcome:
        """Trigger a query with the app's component state (the emulated page's)."""
        spec = self.actions[action]
        answer = run_query(self.spec["resource"], self.spec["queries"][spec["query"]], state, user, spec["bind"])
        return Outcome(answer.code, answer.data, [answer.sent])

    def show(self, template: str, user: dict[str, Any], state: dict[str, Any]) -> Any:
        """A component's property as the app evaluates it in the browser (``current_user`` there too)."""
        return resolve(template, {**state, "current_user": user}, on_server="\x00")

    def submit(self, who, amount=640, description="Conference"):
        return self.click("submit", who, {"form1": {"data": {
            "employee": who["email"], "amount": amount, "description": description}}})

    def inbox(self, who):
        return self.click("inbox", who)

    def decide(self, button, who, request, comment=""):
        return self.click(button, who, {"table1": {"selectedRow": request}, "textArea1": {"value": comment}})

    def runs(self, who, cursor="", **filters):
        return self.click("runs", who, {name: {"value": filters.get(key, "")} for key, name in FILTERS.items()},
                          cursor)

    def click_run_row(self, action, who, run_id):
        return self.click(action, who, {"table2": {"selectedRow": {"id": run_id}}})


@pytest.fixture(scope="module")
def retool(app) -> Iterator[RetoolSession]:
    with live_api(app) as base_url:
        yield RetoolSession(base_url, recipe("retool"))


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, Any]]:
    """Retool users as ``current_user`` shows them (groups are objects with a name)."""
    groups = {"ann": [], "bob": ["managers"], "carol": ["managers"], "dave": []}
    return {name: {"email": email(name), "firstName": name,
                   "groups": [{"id": 1, "name": "All Users"}, *({"id": 2, "name": g} for g in extra)]}
            for name, extra in groups.items()}


def test_trigger_names_each_bad_field_then_the_run_progresses(retool, people):
    scenarios.field_errors_then_progress(retool, people["ann"])
    sent = retool.inbox(people["bob"]).sent[0]["headers"]
    assert (sent["X-Workflows-User"], sent["X-Workflows-Groups"]) == (people["bob"]["email"], "All Users,managers")


def test_approve_and_reject_each_decide_what_they_say(retool, people):
    scenarios.approve_and_reject(retool, people["ann"], people["bob"])


def test_two_managers_race_and_the_second_hears_who_decided(retool, people):
    scenarios.race(retool, people["ann"], people["bob"], people["carol"])


def test_a_refused_decision_says_why(retool, people):
    scenarios.refused(retool, people["ann"], people["bob"], people["dave"])


def test_history_filters_page_cancel_and_retry(retool, people):
    scenarios.history(retool, people["ann"])
