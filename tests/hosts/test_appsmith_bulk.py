# ruff: noqa: F811  (the browser fixtures are imported by name, then requested as arguments)
"""The inbox's bulk decisions in the Appsmith emulator (bound mode): the recipe's ``bulk_resolve`` event runs
its BulkResolve query, and the answer comes back through the widget's model as ``bulk``."""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import expect

from tests.hosts.appsmith_fixtures import *  # noqa: F403  the fixtures
from tests.panels_browser import base_url, browser  # noqa: F401
from tests.requests_helpers import finished, pending_requests, person
from tests.test_expense_flow import submit


def test_a_manager_approves_selected_requests_at_once_in_appsmith(client, open_appsmith, appsmith_server):
    ann, bob = person("ann"), person("bob")
    tag = uuid.uuid4().hex[:6]
    names = [f"Bulk A {tag}", f"Bulk B {tag}"]
    runs = [submit(client, ann, 500 + i, what).json["run_id"] for i, what in enumerate(names)]
    own = f"Bulk own {tag}"
    own_run = submit(client, bob, 450, own).json["run_id"]  # bob started it: he may not decide it
    for run_id in [*runs, own_run]:
        pending_requests(client, run_id)
    inbox = open_appsmith(bob, ["managers"]).widget("Approvals")
    for what in [*names, own]:  # the managers' group inbox holds other tests' requests: tick these only
        inbox.locator("article.wf-card", has_text=what).locator(".wf-bulk-select").check()
    bar = inbox.locator(".wf-bulk-bar")
    expect(bar).to_contain_text("3 selected")
    bar.get_by_role("button", name="Approve selected").click()
    inbox.get_by_role("dialog").get_by_role("button", name="Approve 3").click()
    expect(inbox.locator(".wf-bulk-report")).to_have_text("2 approved; 1 you may not decide")
    for run_id in runs:
        assert finished(client, run_id)["output"]["decision"]["by"] == bob

    sent = [s for s in appsmith_server.sent if s["query"] == "BulkResolve" and s["user"] == bob]
    body = json.loads(sent[-1]["body"])
    assert body["resolution"] == "Approve" and len(body["ids"]) == 3 and body["comment"] == ""
