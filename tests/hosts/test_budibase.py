"""The Budibase recipe, run literally by the Budibase emulator against the real stack over HTTP.

The emulator imports the live /openapi.json the way Budibase's OpenAPI 3 importer does, the builder's edits are
the recipe's, and every click sends the recipe's bindings as Budibase's browser and server evaluate them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import APP_KEY
from tests.hosts.budibase import Answer, BudibaseServer, browser_value, import_openapi
from tests.hosts.common import eventually, live_api, placeholders, recipe


class BudibaseApp:
    """The app the recipe builds: a datasource imported from the plugin, and the recipe's actions."""

    def __init__(self, base_url: str, spec: dict[str, Any]) -> None:
        self.spec = placeholders(spec, {"app key": APP_KEY, "plugin URL": base_url})
        doc = requests.get(self.spec["datasource"]["import"], timeout=10).json()
        self.source = import_openapi(doc)
        self.imported = import_openapi(doc)  # as imported, before the builder's edits
        self.source.headers.update(self.spec["datasource"]["headers"])
        self.server = BudibaseServer(self.source)
        self.actions = {a["id"]: a for a in self.spec["actions"]}

    def click(self, action: str, user: dict[str, Any], **page: Any) -> Answer:
        """A user triggers one of the recipe's actions on a page holding ``page`` (forms, clicked row, state)."""
        spec = self.actions[action]
        context = {"Current User": user, **page}
        params = {name: browser_value(value, context) for name, value in spec["bind"].items()}
        return self.server.execute(spec["query"], params, user)


def person(name: str, role: str = "BASIC") -> dict[str, Any]:
    """A Budibase user as its server knows them (``ctx.user``): email and app role id."""
    return {"email": f"{name}-{uuid.uuid4().hex[:6]}@example.com", "roleId": role, "firstName": name}


@pytest.fixture(scope="module")
def budibase(app) -> Iterator[BudibaseApp]:
    with live_api(app) as base_url:
        yield BudibaseApp(base_url, recipe("budibase"))


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, Any]]:
    return {"ann": person("ann"), "bob": person("bob", "managers"), "carol": person("carol", "managers"),
            "dave": person("dave")}


def submit(budibase: BudibaseApp, who: dict[str, Any], amount: Any = 640, description: str = "Conference",
           manager: str = "") -> Answer:
    return budibase.click("submit", who, ExpenseForm={"Fields": {
        "amount": amount, "description": description, "manager": manager}})


def waiting_request(budibase: BudibaseApp, who: dict[str, Any], manager: dict[str, Any]) -> dict[str, Any]:
    """Submit 640 as ``who`` and find its request in ``manager``'s inbox."""
    started = submit(budibase, who)
    assert started.code == 202, started.rows
    run_id = started.rows[0]["run_id"]

    def in_inbox() -> list[dict[str, Any]]:
        answer = budibase.click("inbox", manager)
        assert answer.code == 200, answer.rows
        return [r for r in answer.rows[0]["requests"] if r["run_id"] == run_id]

    found = eventually(in_inbox)
    assert found, f"{manager['email']} (role managers) never saw the request in the inbox"
    return found[0]


def test_the_import_leaves_identity_to_the_datasource_and_prefills_nothing(budibase):
    """Issue 23 item 10: no browser-supplied identity, no example values as defaults, Budibase's binding names."""
    for query in budibase.imported.queries.values():
        assert not {"X-Workflows-User", "X-Workflows-Groups", "X-Workflows-Identity"} & set(query.parameters), \
            query.name
        assert not any("X-Workflows-User" in h for h in query.headers), query.name
    assert {"X-Workflows-User", "X-Workflows-Groups", "X-Workflows-Identity"} <= set(budibase.imported.headers)
    trigger = budibase.imported.queries["triggerSubmitExpense"]
    assert {k: v for k, v in trigger.parameters.items() if k.startswith("input_")} == {
        "input_employee": "", "input_amount": "0", "input_description": "", "input_manager": ""}
    assert budibase.imported.queries["resolveRequest"].parameters["resolution"] == ""


def test_trigger_names_each_bad_field_then_the_run_progresses(budibase, people):
    ann = people["ann"]
    refused = submit(budibase, ann, amount=-5, description="", manager="my boss")
    assert refused.code == 422
    fields = refused.rows[0]["error"]["details"]["fields"]
    assert {"input.amount", "input.description", "input.manager"} <= set(fields), fields
    assert len(refused.sent) == 2, "Budibase runs a query once more after an answer of 400 or more"
    assert refused.sent[0]["headers"]["X-Workflows-User"] == ann["email"]

    started = submit(budibase, ann)  # manager left blank: an optional field sent as ""
    assert started.code == 202, started.rows
    assert started.sent[0]["headers"]["Idempotency-Key"] == ""  # sent empty, as Budibase does
    run_id = started.rows[0]["run_id"]
    run = eventually(lambda: (a := budibase.click("details", ann, **{"Clicked row": {"id": run_id}}))
                     .rows[0].get("status") == "waiting" and a.rows[0])
    assert run and run["requests"][0]["status"] == "pending", run
    assert run["started_by"] == ann["email"]


def test_a_browser_parameter_cannot_name_another_user(budibase, people):
    """The identity headers are the datasource's, rendered on the server with ``user`` set last."""
    ann = people["ann"]
    spec = budibase.actions["submit"]
    params = {name: browser_value(value, {"Current User": ann, "ExpenseForm": {"Fields": {
        "amount": 5, "description": "x", "manager": ""}}}) for name, value in spec["bind"].items()}
    forged = {**params, "user": {"email": "boss@example.com", "roleId": "managers"}}
    answer = budibase.server.execute("triggerSubmitExpense", forged, ann)
    assert answer.sent[0]["headers"]["X-Workflows-User"] == ann["email"]
    assert answer.sent[0]["headers"]["X-Workflows-Groups"] == "BASIC"


def test_approve_and_reject_each_decide_what_they_say(budibase, people):
    ann, bob = people["ann"], people["bob"]
    for button, resolution in (("approve", "Approve"), ("reject", "Reject")):
        request = waiting_request(budibase, ann, bob)
        answer = budibase.click(button, bob, **{"Clicked row": request,
                                                "DecisionForm": {"Fields": {"comment": f"{resolution}d by Bob"}}})
        assert answer.code == 200, answer.rows
        assert answer.rows[0]["resolution"] == resolution
        row = {"id": request["run_id"]}
        run = eventually(lambda row=row: (a := budibase.click("details", ann, **{"Clicked row": row}))
                         .rows[0].get("status") == "completed" and a.rows[0])
        assert run["decisions"][0]["resolution"] == resolution and run["decisions"][0]["actor"] == bob["email"]
        assert run["output"]["approved"] is (resolution == "Approve")


def test_two_managers_race_and_the_second_hears_who_decided(budibase, people):
    ann, bob, carol = people["ann"], people["bob"], people["carol"]
    request = waiting_request(budibase, ann, bob)
    assert any(r["id"] == request["id"] for r in budibase.click("inbox", carol).rows[0]["requests"])
    first = budibase.click("approve", bob, **{"Clicked row": request, "DecisionForm": {"Fields": {"comment": ""}}})
    second = budibase.click("reject", carol, **{"Clicked row": request, "DecisionForm": {"Fields": {"comment": ""}}})
    assert first.code == 200, first.rows
    assert second.code == 409, second.rows
    assert bob["email"] in second.rows[0]["error"]["message"], second.rows


def test_a_refused_decision_says_why(budibase, people):
    ann, bob, dave = people["ann"], people["bob"], people["dave"]
    request = waiting_request(budibase, ann, bob)
    refused = budibase.click("approve", dave, **{"Clicked row": request, "DecisionForm": {"Fields": {"comment": ""}}})
    assert refused.code in (403, 404), refused.rows
    assert refused.rows[0]["error"]["message"], refused.rows
    nothing = budibase.click("approve", bob, **{"Clicked row": {}, "DecisionForm": {"Fields": {"comment": ""}}})
    assert 400 <= nothing.code < 500 and nothing.rows[0]["error"]["message"], nothing.rows  # no row clicked


def test_history_filters_page_cancel_and_retry(budibase, people):
    ann = people["ann"]
    started = [submit(budibase, ann, description=f"History {n}").rows[0]["run_id"] for n in range(3)]

    def runs(**filters: Any) -> Answer:
        fields = {"status": "", "query": "", "started_by": "", "since": "", "until": "", "limit": "", **filters}
        cursor = fields.pop("cursor", "")
        return budibase.click("runs", ann, RunFilters={"Fields": fields}, State={"cursor": cursor})

    mine = eventually(lambda: {r["id"] for r in runs(started_by=ann["email"], status="waiting").rows[0]["runs"]}
                      >= set(started) and runs(started_by=ann["email"], status="waiting"))
    assert mine and mine.code == 200
    assert runs(query="submit_expense", since="2000-01-01T00:00:00Z", until="2999-01-01T00:00:00Z").code == 200
    assert not runs(started_by=ann["email"], until="2000-01-01T00:00:00Z").rows[0]["runs"]
    bad = runs(status="sleeping")
    assert bad.code == 422 and "status" in bad.rows[0]["error"]["details"]["fields"]

    page_one = runs(started_by=ann["email"], limit=2).rows[0]
    assert len(page_one["runs"]) == 2 and page_one["next_cursor"], page_one
    page_two = runs(started_by=ann["email"], limit=2, cursor=page_one["next_cursor"]).rows[0]
    assert page_two["runs"] and not {r["id"] for r in page_one["runs"]} & {r["id"] for r in page_two["runs"]}

    cancelled = budibase.click("cancel", ann, **{"Clicked row": {"id": started[0]}})
    assert cancelled.code == 200, cancelled.rows
    assert eventually(lambda: budibase.click("details", ann, **{"Clicked row": {"id": started[0]}})
                      .rows[0]["status"] == "cancelled")
    retried = budibase.click("retry", ann, **{"Clicked row": {"id": started[0]}})
    assert retried.code == 202, retried.rows
    again = budibase.click("details", ann, **{"Clicked row": {"id": retried.rows[0]["run_id"]}}).rows[0]
    assert again["retry_of"] == started[0]
