"""``GET /manifest.json``: the plugin manifest (top-level manifest.json) with the base URL filled in."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app

from plugin import assets
from plugin.api.openapi.document import public_base_url
from plugin.api.services import services
from plugin.workspace.loader import Workspace

bp = Blueprint("manifest", __name__)


@lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> dict[str, Any]:
    return json.loads(path.read_text())


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    """The manifest as the file has it (a fresh copy; re-read when the file changes)."""
    path = path or assets.manifest_path()
    return copy.deepcopy(_read(path, path.stat().st_mtime_ns))


def served_manifest(base_url: str, workspace: Workspace, events_url: str | None = None) -> dict[str, Any]:
    """The manifest for hosts reaching the plugin at ``base_url``, with the current queries as options; live events
    on the API's origin, or at ``events_url`` (the events edge's own origin, ``WORKFLOWS_EVENTS_URL``)."""
    manifest = load_manifest()
    manifest.pop("$schema", None)
    manifest["homepage"] = base_url + manifest["homepage"] if manifest["homepage"].startswith("/") \
        else manifest["homepage"]
    datasource = manifest["datasource"]
    datasource["base_url"] = base_url
    for control in datasource["form"]:
        if control["configProperty"] == "datasourceConfiguration.url":
            control["initialValue"] = base_url
    manifest["live_events"]["stream_url"] = f"{events_url or base_url}/api/v1/events"
    options = [{"label": q.label, "value": q.name} for q in sorted(workspace.queries.values(), key=lambda q: q.name)]
    for template in manifest["query_templates"]:
        for control in template["form"]:
            if control["configProperty"] == "path.name" and "optionsFrom" in control:
                control["options"] = options
    return manifest


@bp.route("/manifest.json")
def manifest_json():
    """The manifest, for a host to create the datasource, queries and panels without guessing."""
    settings = services().settings
    body = json.dumps(served_manifest(public_base_url(), services().workspace, settings.streams.public_url))
    return current_app.response_class(body, mimetype="application/json")
