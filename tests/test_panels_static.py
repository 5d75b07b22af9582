"""The panels as files: static serving, the dev host page, and the custom-widget export (HTTP and CLI)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from plugin.api.pages.panels import panel_entries
from plugin.cli import main

PANELS = [entry["id"] for entry in panel_entries()]


@pytest.mark.parametrize("name", PANELS)
def test_each_panel_page_is_served_with_its_marked_widget_part(client, name):
    with client.get(f"/ui/{name}/") as page:
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert "<!-- panel -->" in page.get_data(as_text=True)
    with client.get(f"/ui/{name}/{name}.js") as script:
        assert script.status_code == 200


@pytest.mark.parametrize("name", [p for p in PANELS if p != "binding"])  # the binding helper: a page only
def test_an_export_is_self_contained_plain_code(client, name):
    parts = client.get(f"/ui/export/{name}.json").json
    assert f'data-panel="{name}"' in parts["html"] and "<script" not in parts["html"]
    assert "WF.host" in parts["js"] and ".wf {" in parts["css"]
    for code in (parts["js"], parts["css"], parts["html"]):
        code = code.replace('"http://www.w3.org/2000/svg"', "")  # the SVG namespace's name, nothing loaded
        assert not re.search(r"https?://|\bimport\s|@import", code), "nothing may come from elsewhere (no CDN)"
    entry = next(e for e in panel_entries() if e["id"] == name)
    assert parts["model"] == entry["model"] and parts["events"] == entry["events"]


def test_an_unknown_panel_is_a_404_in_the_error_shape(client):
    answer = client.get("/ui/export/nope.json")
    assert answer.status_code == 404 and "inbox" in answer.json["error"]["message"]


def test_the_dev_host_is_served_at_the_root(client):
    with client.get("/") as page:
        assert page.status_code == 200 and "Workflows dev host" in page.get_data(as_text=True)


def test_panels_export_prints_the_parts_model_and_events():
    result = CliRunner().invoke(main, ["panels", "export", "inbox"])
    assert result.exit_code == 0, result.output
    for heading in ("===== HTML", "===== CSS", "===== JS", "===== Default Model", "===== Events"):
        assert heading in result.output
    model = ("{{ {requests: GetRequests.data, result: ResolveRequest.data, bulk: BulkResolve.data, "
             "absence: GetMyAbsence.data, absence_result: SetAbsence.data} }}")
    assert model in result.output  # one binding
    assert "resolve(id, resolution, comment, payload) -> run resolveRequest" in result.output
    whole = json.loads(CliRunner().invoke(main, ["panels", "export", "inbox", "--part", "json"]).output)
    assert whole["default_model"] == model
    missing = CliRunner().invoke(main, ["panels", "export", "nope"])
    assert missing.exit_code == 1 and "the panels are: inbox" in missing.output


def test_a_node_based_query_definition_reads_as_a_step_graph(client):
    from tests.conftest import auth

    graph = client.get("/api/v1/queries/request_purchase/definition", headers=auth(user="ann@example.com")).json
    assert graph["node_based"] is True and [s["id"] for s in graph["steps"]][:2] == ["received", "rate"]
    decide = next(s for s in graph["steps"] if s["id"] == "decide")
    case = decide["paths"][0]
    assert case["label"] == "if state.amount_usd > 500" and case["steps"][0]["kind"] == "approval"
    assert decide["paths"][-1]["label"] == "else"
    python = client.get("/api/v1/queries/submit_expense/definition", headers=auth(user="ann@example.com")).json
    assert python["node_based"] is False and python["steps"] == []
    assert client.get("/api/v1/queries/nope/definition", headers=auth(user="a@example.com")).status_code == 404
    assert client.get("/api/v1/queries/submit_expense/definition").status_code == 401
