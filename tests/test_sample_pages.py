"""Each sample has a dev host page (app.json) naming panels the manifest offers and queries its workspace has,
and GET /apps.json serves them in the configured folders' order."""

from __future__ import annotations

import json

import pytest

from tests.checkout import SAMPLE_APPS
from tests.host_guides import manifest

SAMPLES = sorted(p for p in SAMPLE_APPS.iterdir() if (p / "workspace.json").is_file())


@pytest.mark.parametrize("folder", SAMPLES, ids=[p.name for p in SAMPLES])
def test_a_sample_page_names_real_panels_and_its_own_queries(folder):
    page = json.loads((folder / "app.json").read_text())
    panels = {p["id"] for p in manifest()["panels"]}
    queries = set(json.loads((folder / "workspace.json").read_text())["queries"])
    assert page["title"] and page["description"]
    assert {w["panel"] for w in page["widgets"]} >= {"inbox", "history"}
    for widget in page["widgets"]:
        assert widget["panel"] in panels and widget["kind"] in ("custom", "iframe"), widget
        assert widget.get("query", next(iter(queries))) in queries, widget
    assert any(w.get("query") in queries for w in page["widgets"] if w["panel"] == "trigger")


def test_apps_json_lists_each_configured_page(client, settings):
    answer = client.get("/apps.json")
    assert answer.status_code == 200
    listed = [a["id"] for a in answer.json["apps"]]
    assert listed == [p.name for p in settings.workspaces if (p / "app.json").is_file()]
    assert set(listed) == {p.name for p in SAMPLES}
