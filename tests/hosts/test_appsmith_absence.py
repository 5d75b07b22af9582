"""Out of office in the Appsmith emulator, through the recipe's GetMyAbsence / SetAbsence / EndAbsence queries: the
inbox custom widget shows the control once the app binds ``absence``, a refused delegate comes back on its field
through SetAbsence's data, and the delegate's inbox marks the absent person's request and decides it for her."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.conftest import auth
from tests.hosts.appsmith_fixtures import *  # noqa: F403  the fixtures
from tests.hosts.appsmith_fixtures import snap
from tests.panels_browser import base_url, browser  # noqa: F401
from tests.requests_helpers import finished, pending_requests, person, start_probe


def test_out_of_office_set_in_the_appsmith_widget_reaches_the_delegate(client, open_appsmith, appsmith_server):
    ann, bob = person("ann"), person("bob")
    what = f"Away {uuid.uuid4().hex[:6]}"
    run_id = start_probe(client, person("req"), [{"name": "Sign the lease", "message": what, "users": [ann]}])
    pending_requests(client, run_id)

    page = open_appsmith(ann)
    mine = page.widget("Approvals")
    expect(mine.locator("article.wf-card", has_text=what)).to_be_visible()
    mine.get_by_role("button", name="Out of office").click()
    form = mine.get_by_role("form", name="Out of office")
    form.get_by_label("Delegate").fill(ann)
    form.get_by_role("button", name="Save absence").click()
    expect(form.locator('[data-field="delegate"] .wf-field-error')).to_contain_text("cannot stand in for yourself")
    form.get_by_label("Delegate").fill(bob)
    form.get_by_role("button", name="Save absence").click()
    expect(mine.locator(".wf-ooo-summary")).to_contain_text("You are out of office")
    expect(mine.locator(".wf-ooo-summary")).to_contain_text(bob)
    snap(page, "appsmith-absence")
    sent = [s for s in appsmith_server.sent if s["query"] == "SetAbsence" and s["user"] == ann]
    assert len(sent) == 2, "one refused, one saved"

    delegate = open_appsmith(bob).widget("Approvals")
    card = delegate.locator("article.wf-card", has_text=what)
    expect(card.locator(".wf-for")).to_have_text(f"for {ann}")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".wf-feedback")).to_contain_text(f"recorded for {ann}")
    decision = finished(client, run_id)["requests"][0]["decisions"][0]
    assert (decision["actor"], decision["acting_for"]) == (bob, ann)

    mine.get_by_role("button", name="End absence now").click()
    mine.get_by_role("dialog").get_by_role("button", name="End absence").click()
    expect(mine.locator(".wf-ooo")).to_have_attribute("data-absence", "none")
    assert client.get("/api/v1/absences/me", headers=auth(user=ann)).json["delegate"] is None
