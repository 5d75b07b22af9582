"""The run history's Analytics tab in the Appsmith emulator, through the recipe's GetRequestAnalytics query: the
bound widget sends the ``analytics`` event when the tab opens and when its grouping changes, the query runs with
that range and grouping, and the figures come back through the Default Model."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.hosts.appsmith_fixtures import *  # noqa: F403  the fixtures
from tests.hosts.appsmith_fixtures import snap
from tests.panels_browser import base_url, browser  # noqa: F401
from tests.requests_helpers import act, finished, pending_requests, person, start_probe


def test_the_analytics_tab_runs_its_query_with_the_range_and_grouping_chosen(client, open_appsmith, appsmith_server):
    boss = person("boss")
    run_id = start_probe(client, person("req"), [{"name": "Order chairs", "users": [boss]}])
    [request] = pending_requests(client, run_id)
    assert act(client, request["id"], boss, resolution="Approve").status_code == 200
    finished(client, run_id)

    page = open_appsmith(boss)
    history = page.widget("History")
    history.get_by_role("tab", name="Analytics").click()
    figures = history.locator("#history-analytics")
    expect(figures.locator('.wfa-tile[data-figure="Decided"] .wfa-tile-value')).to_have_text("1")
    expect(figures.locator('tr[data-row="approval_probe"]')).to_be_visible()
    figures.get_by_label("Group by").select_option("assignee")
    expect(figures.locator(f'tr[data-row="{boss}"]')).to_be_visible()
    snap(page, "appsmith-analytics")

    sent = [s for s in appsmith_server.sent if s["query"] == "GetRequestAnalytics" and s["user"] == boss]
    sent = [dict(s["params"]) for s in sent]
    assert [s.get("group_by") for s in sent] == ["query", "assignee"], sent
    assert all(s.get("since") and s.get("until") for s in sent), "the range the tab shows"
