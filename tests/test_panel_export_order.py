"""A panel's custom-widget export carries every script and stylesheet its page loads, in the page's order: the
history panel's analytics tab needs shared/charts.js and shared/analytics.js before its own analytics.js
(exported alphabetically from the panel's folder, the widget failed with "WF.analyticsView is not a function")."""

import re

import pytest

from plugin import assets
from plugin.api.pages.panels import export_panel


@pytest.mark.parametrize("panel", ["inbox", "trigger", "history"])
def test_the_export_holds_what_the_page_loads_in_its_order(panel):
    page = (assets.ui_panels() / panel / "index.html").read_text()
    loaded = [re.sub(r"^\.\./", "", src) if src.startswith("../") else f"{panel}/{src}"
              for src in re.findall(r'<script src="([^"]+)"', page)]
    exported = re.findall(r"^// (\S+\.js)$", export_panel(panel)["js"], re.M)
    assert exported == loaded
    styles = [re.sub(r"^\.\./", "", h) if h.startswith("../") else f"{panel}/{h}"
              for h in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)]
    assert re.findall(r"^/\* (\S+\.css) \*/$", export_panel(panel)["css"], re.M) == styles
