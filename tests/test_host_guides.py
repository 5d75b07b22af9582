"""The "Connect a host" guides name only queries, panels, model keys, events, identity bindings and operations
that the plugin offers (manifest.json and the live /openapi.json), so they cannot drift from it."""

from __future__ import annotations

import pytest

from tests.checkout import REPO_ROOT
from tests.host_guides import GUIDES, manifest, parse, problems

HOSTS = ("appsmith", "tooljet", "budibase", "retool")


@pytest.fixture(scope="module")
def operations(app) -> set[str]:
    doc = app.test_client().get("/openapi.json").json
    return {op["operationId"] for item in doc["paths"].values() for m, op in item.items() if m != "parameters"}


@pytest.mark.parametrize("host", HOSTS)
def test_a_guide_names_only_what_the_plugin_offers(host, operations):
    text = (GUIDES / f"{host}.md").read_text()
    assert problems(text, host, manifest(), operations) == []


@pytest.mark.parametrize("host", HOSTS)
def test_a_guide_covers_the_approval_loop(host):
    guide = parse((GUIDES / f"{host}.md").read_text())
    labels = {label for label, _, _ in guide.queries.values()}
    assert {"Trigger workflow", "Get requests", "Resolve request", "Get run"} <= labels, labels
    assert "inbox" in guide.panels and "history" in guide.panels
    assert guide.headers, "the guide says which identity header to send"


def test_appsmith_binds_every_model_key_and_event_of_its_panels():
    guide = parse((GUIDES / "appsmith.md").read_text())
    from tests.host_guides import panels_of
    panels = panels_of(manifest())
    for panel_id, tables in guide.panels.items():
        assert {k for k, _ in tables["events"]} == set(panels[panel_id]["events"]), panel_id
        bound = {k for k, _ in tables["model"]}
        assert bound <= set(panels[panel_id]["model"]) and bound, panel_id


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("| `requests` | `{{GetRequests.data}}` |", "| `pending` | `{{GetRequests.data}}` |", "no model key 'pending'"),
    ("| `requests` | `{{GetRequests.data}}` |", "| `requests` | `{{ListRuns.data}}` |", "is for listRequests"),
    ("| `resolve` | `{{ResolveRequest.run(", "| `approve` | `{{ResolveRequest.run(", "no events key 'approve'"),
    ("| Get requests | GET `/api/v1/requests`", "| Get requests | GET `/api/v1/inbox`", "is not Get requests'"),
    ("| Get run | GET", "| Fetch run | GET", "no query template labelled 'Fetch run'"),
    ("### Panel: history", "### Panel: timeline", "panel timeline: not in the manifest"),
    ("`X-Workflows-Identity: <<APPSMITH_USER_OAUTH2_ACCESS_TOKEN>>`", "`X-Workflows-User: {{appsmith.user.email}}`",
     "X-Workflows-User: {{appsmith.user.email}} is not one of appsmith's bindings"),
])
def test_a_drifted_guide_is_caught(old, new, problem, operations):
    text = (GUIDES / "appsmith.md").read_text()
    assert old in text
    found = problems(text.replace(old, new, 1), "appsmith", manifest(), operations)
    assert any(problem in p for p in found), found


def test_an_unknown_operation_id_is_caught(operations):
    text = (GUIDES / "budibase.md").read_text().replace("`triggerSubmitExpense`", "`triggerSubmitExpenses`")
    assert "operation triggerSubmitExpenses: not in /openapi.json" in problems(text, "budibase", manifest(), operations)


def test_the_readme_and_hosts_page_point_to_every_guide():
    readme = (REPO_ROOT / "README.md").read_text()
    index = (REPO_ROOT / "docs" / "hosts.md").read_text()
    for host in HOSTS:
        assert f"docs/hosts/{host}.md" in readme and f"hosts/{host}.md" in index, host
