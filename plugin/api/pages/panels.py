"""The UI panels: static files under ``/ui/``, their custom-widget export, and the dev host page at ``/``.

Panels are plain files in the top-level ``ui_panels/`` folder (no build step), found through
``plugin.assets`` in a checkout and in an installed wheel alike. A panel's export is what an app builder
pastes into a host's custom widget: its HTML (the part between ``<!-- panel -->`` markers of its page), and the
CSS and JS files its page loads, concatenated in the page's order (a panel's scripts may need shared ones
loaded before them, e.g. the history panel's analytics tab).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify, send_from_directory

from plugin import assets
from plugin.errors import Conflict, NotFound

SHARED_CSS = ("shared/wf.css", "shared/analytics.css")
SHARED_JS = ("shared/ui.js", "shared/api.js", "shared/host.js", "shared/forms.js",
             "shared/charts.js", "shared/analytics.js")  # the last two: the history panel's Analytics tab
_MARKED = re.compile(r"<!-- panel -->(.*?)<!-- /panel -->", re.S)

_SCRIPT = re.compile(r"""<script\s[^>]*src=["']([^"':]+)["']""")
_STYLESHEET = re.compile(r"""<link\s[^>]*rel=["']stylesheet["'][^>]*href=["']([^"':]+)["']""")

bp = Blueprint("panels", __name__)


def _linked(page: str, tag: re.Pattern[str], folder: Path) -> list[Path]:
    """The local files a panel's page loads with ``tag``, in the page's order (the order its scripts need)."""
    return [Path(os.path.normpath(folder / src)) for src in tag.findall(page)]


def panel_entries() -> list[dict[str, Any]]:
    """The panels as the manifest describes them (model keys, events): the top-level ``manifest.json``."""
    return json.loads(assets.manifest_path().read_text())["panels"]


def _entry(name: str) -> dict[str, Any]:
    for entry in panel_entries():
        if entry["id"] == name:
            return entry
    known = ", ".join(e["id"] for e in panel_entries())
    raise NotFound(f"No panel named {name!r}; the panels are: {known}")


def export_panel(name: str) -> dict[str, Any]:
    """The parts of a panel ready for a custom widget: html, css, js, and the model keys and events.

    A panel that works only standalone (the binding helper: it needs a key in its URL, and a srcDoc widget has
    no URL) is not offered as a custom widget."""
    entry = _entry(name)
    if "bound" not in entry["modes"]:
        raise Conflict(f"The {entry['title'].lower()} is not a custom widget: it works only as its own page, "
                       f"opened at /ui/{name}/ in a browser tab (it needs a key in its URL, which a custom "
                       "widget cannot carry)", {"panel": name})
    panels_dir = assets.ui_panels()
    folder = assets.root() / Path(entry["entry"]).parent  # entries are paths in the repository's layout
    page = (assets.root() / entry["entry"]).read_text()
    found = _MARKED.search(page)
    html = found.group(1).strip() if found else ""
    css_files = _linked(page, _STYLESHEET, folder) or [panels_dir / p for p in SHARED_CSS] + sorted(
        folder.glob("*.css"))
    js_files = _linked(page, _SCRIPT, folder) or [panels_dir / p for p in SHARED_JS] + sorted(folder.glob("*.js"))
    css = "\n".join(f"/* {p.relative_to(panels_dir)} */\n{p.read_text()}" for p in css_files)
    js = "\n".join(f"// {p.relative_to(panels_dir)}\n{p.read_text()}" for p in js_files)
    return {"id": entry["id"], "title": entry["title"], "html": html, "css": css, "js": js,
            "model": entry["model"], "events": entry["events"]}


@bp.route("/")
def dev_host():
    """The dev host: the sample apps' panels in sandboxed iframes, as a host's custom widgets."""
    return send_from_directory(assets.ui_panels() / "devhost", "index.html")


@bp.route("/settings")
def settings_page():
    """The plugin settings page (sign-in with the admin key; its files load from ``/ui/settings/``)."""
    return send_from_directory(assets.ui_panels() / "settings", "index.html", max_age=0)


@bp.route("/ui/")
def panel_index():
    """The panels on offer, as JSON."""
    return jsonify({"panels": panel_entries()})


@bp.route("/ui/<path:filename>")
def panel_file(filename: str):
    """A panel's static file; a folder answers its ``index.html``."""
    panels_dir = assets.ui_panels()
    if filename.endswith("/") or (panels_dir / filename).is_dir():
        filename = filename.rstrip("/") + "/index.html"
    return send_from_directory(panels_dir, filename, max_age=0)


@bp.route("/ui/export/<name>.json")
def panel_export(name: str):
    """A panel's custom-widget parts (what ``workflows-plugin panels export NAME`` prints)."""
    return jsonify(export_panel(name))
