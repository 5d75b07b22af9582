"""The Retool recipe, run literally by the Retool emulator against the real stack over HTTP: ``current_user`` in
the resource's headers filled on Retool's server, everything else from the app, each button's resolution passed
as ``additionalScope``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import APP_KEY
from tests.hosts.common import eventually, live_api, placeholders, recipe
from tests.hosts.retool import Answer, run_query


class RetoolApp:
    """The app the recipe builds: the REST API resource, its queries and the events that trigger them."""

    def __init__(self, base_url: str, spec: dict[str, Any]) -> None:
        self.spec = placeholders(spec, {"app key": APP_KEY, "plugin URL": base_url})
        self.actions = {a["id"]: a for a in self.spec["actions"]}

    def click(self, action: str, user: dict[str, Any], components: dict[str, Any] | None = None,
              variables: dict[str, Any] | None = None) -> Answer:
        """A user fires one of the recipe's events; ``components`` holds the app's component state."""
        spec = self.actions[action]
        state = {"cursor": {"value": (variables or {}).get("cursor", "")}, **(components or {})}
        return run_query(self.spec["resource"], self.spec["queries"][spec["query"]], state, user, spec["bind"])


def person(name: str, *groups: str) -> dict[str, Any]:
    """A Retool user as ``current_user`` shows them (groups are objects with a name)."""
    return {"email": f"{name}-{uuid.uuid4().hex[:6]}@example.com", "firstName": name,
            "groups": [{"id": 1, "name": "All Users"}, *({"id": 2, "name": g} for g in groups)]}


@pytest.fixture(scope="module")
def retool(app) -> Iterator[RetoolApp]:
    with live_api(app) as base_url:
        yield RetoolApp(base_url, recipe("retool"))


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, Any]]:
    return {"ann": person("ann"), "bob": person("bob", "managers"), "carol": person("carol", "managers"),
            "dave": person("dave")}


def form(who: dict[str, Any], amount: Any = 640, description: str = "Conference", manager: str = "") -> dict:
    return {"form1": {"data": {"employee": who["email"], "amount": amount, "description": description,
                               "manager": manager}}}


def selected(table: str, row: dict[str, Any], comment: str = "") -> dict[str, Any]:
    return {table: {"selectedRow": row}, "textArea1": {"value": comment}}


def waiting_request(retool: RetoolApp, who: dict[str, Any], manager: dict[str, Any]) -> dict[str, Any]:
    started = retool.click("submit", who, form(who))
    assert started.code == 202, started.data
    run_id = started.data["run_id"]
    found = eventually(lambda: [r for r in retool.click("inbox", manager).data["requests"] if r["run_id"] == run_id])
    assert found, "the manager never saw the request"
    return found[0]


def test_trigger_names_each_bad_field_then_the_run_progresses(retool, people):
    ann = people["ann"]
    refused = retool.click("submit", ann, form(ann, amount=-5, description="", manager="my boss"))
    assert refused.code == 422
    assert {"input.amount", "input.description", "input.manager"} <= set(refused.data["error"]["details"]["fields"])
    started = retool.click("submit", ann, form(ann))
    assert started.code == 202, started.data
    assert started.sent["headers"]["X-Workflows-User"] == ann["email"]
    run = eventually(lambda: (a := retool.click("details", ann, selected("table2", {"id": started.data["run_id"]})))
                     .data.get("status") == "waiting" and a.data)
    assert run["requests"][0]["status"] == "pending"


def test_approve_and_reject_each_decide_what_they_say(retool, people):
    """One query, the resolution passed by each button in ``additionalScope``."""
    ann, bob = people["ann"], people["bob"]
    for button, resolution in (("approve", "Approve"), ("reject", "Reject")):
        request = waiting_request(retool, ann, bob)
        comment = f'{resolution}d: "fine" by Bob'  # quotes too: the body JSON-quotes the comment
        answer = retool.click(button, bob, selected("table1", request, comment))
        assert answer.code == 200, answer.data
        assert answer.data["resolution"] == resolution
        run = eventually(lambda r=request: (a := retool.click("details", ann, selected("table2", {"id": r["run_id"]})))
                         .data.get("status") == "completed" and a.data)
        assert run["decisions"][0]["resolution"] == resolution and run["decisions"][0]["actor"] == bob["email"]
        assert run["decisions"][0]["comment"] == comment


def test_two_managers_race_and_the_second_hears_who_decided(retool, people):
    ann, bob, carol = people["ann"], people["bob"], people["carol"]
    request = waiting_request(retool, ann, bob)
    first = retool.click("approve", bob, selected("table1", request))
    second = retool.click("reject", carol, selected("table1", request))
    assert first.code == 200, first.data
    assert second.code == 409 and bob["email"] in second.data["error"]["message"], second.data


def test_a_refused_decision_says_why(retool, people):
    ann, bob, dave = people["ann"], people["bob"], people["dave"]
    request = waiting_request(retool, ann, bob)
    refused = retool.click("approve", dave, selected("table1", request))
    assert refused.code in (403, 404) and refused.data["error"]["message"], refused.data


def test_history_filters_page_cancel_and_retry(retool, people):
    ann = people["ann"]
    started = [retool.click("submit", ann, form(ann, description=f"History {n}")).data["run_id"] for n in range(3)]

    def runs(cursor: str = "", **filters: str) -> Answer:
        names = {"status": "statusInput", "query": "queryInput", "started_by": "startedByInput", "since": "sinceInput",
                 "until": "untilInput", "limit": "limitInput"}
        fields = {names[k]: {"value": filters.get(k, "")} for k in names}
        return retool.click("runs", ann, fields, {"cursor": cursor})

    assert eventually(lambda: {r["id"] for r in runs(started_by=ann["email"], status="waiting").data["runs"]}
                      >= set(started))
    assert runs(query="submit_expense", since="2000-01-01T00:00:00+00:00", until="2999-01-01T00:00:00Z").code == 200
    assert not runs(started_by=ann["email"], until="2000-01-01T00:00:00Z").data["runs"]
    page_one = runs(started_by=ann["email"], limit="2").data
    assert len(page_one["runs"]) == 2 and page_one["next_cursor"]
    page_two = runs(page_one["next_cursor"], started_by=ann["email"], limit="2").data
    assert not {r["id"] for r in page_one["runs"]} & {r["id"] for r in page_two["runs"]}

    row = selected("table2", {"id": started[0]})
    assert retool.click("cancel", ann, row).code == 200
    assert eventually(lambda: retool.click("details", ann, row).data["status"] == "cancelled")
    retried = retool.click("retry", ann, row)
    assert retried.code == 202, retried.data
    again = retool.click("details", ann, selected("table2", {"id": retried.data["run_id"]})).data
    assert again["retry_of"] == started[0]
