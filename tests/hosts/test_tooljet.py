"""The ToolJet recipe, run literally by the ToolJet emulator (Enterprise: ``globals.server`` on the server) against
the real stack over HTTP: every query's options resolved as ToolJet's browser and server do, sent as its REST
API plugin does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import APP_KEY
from tests.hosts.common import eventually, live_api, placeholders, recipe
from tests.hosts.tooljet import Answer, QueryFailed, run_query


class ToolJetApp:
    """The app the recipe builds: the REST API data source, its queries and the events that run them."""

    def __init__(self, base_url: str, spec: dict[str, Any]) -> None:
        self.spec = placeholders(spec, {"app key": APP_KEY, "plugin URL": base_url})
        self.source = {"url": self.spec["datasource"]["url"],
                       "headers": [list(h) for h in self.spec["datasource"]["headers"].items()]}
        identity = [list(h) for h in self.spec["query_headers"].items()]
        self.queries = {name: {**q, "headers": [*q.get("headers", []), *identity]}
                        for name, q in self.spec["queries"].items()}
        self.actions = {a["id"]: a for a in self.spec["actions"]}

    def click(self, action: str, user: dict[str, Any], components: dict[str, Any] | None = None,
              variables: dict[str, Any] | None = None, query: dict[str, Any] | None = None) -> Answer:
        """A user fires one of the recipe's events; ``components`` holds the page's widget state."""
        spec = self.actions[action]
        state = {"components": components or {}, "globals": {"currentUser": user}, "queries": {},
                 "variables": {"cursor": "", **(variables or {})}, "page": {}}
        return run_query(self.source, query or self.queries[spec["query"]], state, user,
                         spec["bind"], self.spec["edition"])


def person(name: str, *groups: str) -> dict[str, Any]:
    """A ToolJet user as ``globals.currentUser`` and ``globals.server.currentUser`` show them."""
    return {"email": f"{name}-{uuid.uuid4().hex[:6]}@example.com", "firstName": name,
            "groups": ["all_users", *groups]}


@pytest.fixture(scope="module")
def tooljet(app) -> Iterator[ToolJetApp]:
    with live_api(app) as base_url:
        yield ToolJetApp(base_url, recipe("tooljet"))


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, Any]]:
    return {"ann": person("ann"), "bob": person("bob", "managers"), "carol": person("carol", "managers"),
            "dave": person("dave")}


def form(amount: Any = 640, description: str = "Conference", manager: str = "") -> dict[str, Any]:
    return {"amount": {"value": amount}, "description": {"value": description}, "manager": {"value": manager}}


def selected(table: str, row: dict[str, Any], comment: str = "") -> dict[str, Any]:
    return {table: {"selectedRow": row}, "textarea1": {"value": comment}}


def waiting_request(tooljet: ToolJetApp, who: dict[str, Any], manager: dict[str, Any]) -> dict[str, Any]:
    started = tooljet.click("submit", who, form())
    assert started.code == 202, started.data
    run_id = started.data["run_id"]
    found = eventually(lambda: [r for r in tooljet.click("inbox", manager).data["requests"] if r["run_id"] == run_id])
    assert found, "the manager never saw the request"
    return found[0]


def test_trigger_names_each_bad_field_then_the_run_progresses(tooljet, people):
    ann = people["ann"]
    refused = tooljet.click("submit", ann, form(amount=-5, description="", manager="my boss"))
    assert refused.code == 422
    assert {"input.amount", "input.description", "input.manager"} <= set(refused.data["error"]["details"]["fields"])
    started = tooljet.click("submit", ann, form())
    assert started.code == 202, started.data
    assert started.sent["headers"]["X-Workflows-User"] == ann["email"]
    run = eventually(lambda: (a := tooljet.click("details", ann, selected("table2", {"id": started.data["run_id"]})))
                     .data.get("status") == "waiting" and a.data)
    assert run["requests"][0]["status"] == "pending"


def test_approve_and_reject_each_decide_what_they_say(tooljet, people):
    """Issue 23 item 11: one query, the resolution passed by each button as the event's parameter."""
    ann, bob = people["ann"], people["bob"]
    for button, resolution in (("approve", "Approve"), ("reject", "Reject")):
        request = waiting_request(tooljet, ann, bob)
        comment = f'{resolution}d: "fine" by Bob'  # quotes too: the body JSON-quotes the comment
        answer = tooljet.click(button, bob, selected("table1", request, comment))
        assert answer.code == 200, answer.data
        assert answer.data["resolution"] == resolution
        run = eventually(lambda r=request: (a := tooljet.click("details", ann, selected("table2", {"id": r["run_id"]})))
                         .data.get("status") == "completed" and a.data)
        assert run["decisions"][0]["resolution"] == resolution and run["decisions"][0]["actor"] == bob["email"]
        assert run["decisions"][0]["comment"] == comment


@pytest.mark.parametrize(("body", "breaks"), [
    ('{"resolution": "Approve", "comment": {{components.textarea1.value}}}', "invalid JSON: the comment unquoted"),
    ('{"resolution": "Approve", "comment": {{JSON.stringify(components.textarea1.value)}}}', "Reject approves"),
])
def test_the_old_guides_resolve_query_fails_in_toolJet(tooljet, people, body, breaks):
    """What the guide said before: ToolJet makes invalid JSON of the unquoted comment, and a query that writes
    "Approve" into its body approves whichever button ran it."""
    ann, bob = people["ann"], people["bob"]
    request = waiting_request(tooljet, ann, bob)
    old = {**tooljet.queries["ResolveRequest"], "json_body": body}
    try:
        answer = tooljet.click("reject", bob, selected("table1", request, "no receipt"), query=old)
    except QueryFailed:
        assert breaks.startswith("invalid JSON")
        return
    assert breaks == "Reject approves" and answer.data["resolution"] == "Approve"


def test_two_managers_race_and_the_second_hears_who_decided(tooljet, people):
    ann, bob, carol = people["ann"], people["bob"], people["carol"]
    request = waiting_request(tooljet, ann, bob)
    first = tooljet.click("approve", bob, selected("table1", request))
    second = tooljet.click("reject", carol, selected("table1", request))
    assert first.code == 200, first.data
    assert second.code == 409 and bob["email"] in second.data["error"]["message"], second.data


def test_a_refused_decision_says_why(tooljet, people):
    ann, bob, dave = people["ann"], people["bob"], people["dave"]
    request = waiting_request(tooljet, ann, bob)
    refused = tooljet.click("approve", dave, selected("table1", request))
    assert refused.code in (403, 404) and refused.data["error"]["message"], refused.data


def test_history_filters_page_cancel_and_retry(tooljet, people):
    ann = people["ann"]
    started = [tooljet.click("submit", ann, form(description=f"History {n}")).data["run_id"] for n in range(3)]

    def runs(cursor: str = "", **filters: str) -> Answer:
        fields = {"status": "", "query": "", "started_by": "", "since": "", "until": "", "limit": "", **filters}
        return tooljet.click("runs", ann, {k: {"value": v} for k, v in fields.items()}, {"cursor": cursor})

    assert eventually(lambda: {r["id"] for r in runs(started_by=ann["email"], status="waiting").data["runs"]}
                      >= set(started))
    assert runs(query="submit_expense", since="2000-01-01T00:00:00+00:00", until="2999-01-01T00:00:00Z").code == 200
    assert not runs(started_by=ann["email"], until="2000-01-01T00:00:00Z").data["runs"]
    page_one = runs(started_by=ann["email"], limit="2").data
    assert len(page_one["runs"]) == 2 and page_one["next_cursor"]
    page_two = runs(page_one["next_cursor"], started_by=ann["email"], limit="2").data
    assert not {r["id"] for r in page_one["runs"]} & {r["id"] for r in page_two["runs"]}

    row = selected("table2", {"id": started[0]})
    assert tooljet.click("cancel", ann, row).code == 200
    assert eventually(lambda: tooljet.click("details", ann, row).data["status"] == "cancelled")
    retried = tooljet.click("retry", ann, row)
    assert retried.code == 202, retried.data
    again = tooljet.click("details", ann, selected("table2", {"id": retried.data["run_id"]})).data
    assert again["retry_of"] == started[0]
