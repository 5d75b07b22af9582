"""``GET /apps.json``: the sample apps' pages for the dev host. A workspace folder may hold ``app.json``: the
widgets of its page, each a panel rendered as a host would (``custom``: a custom widget bound to the plugin's
queries; ``iframe``: the panel standalone), with the query it starts and its title."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify

from plugin.api.services import services

APP_FILE = "app.json"

bp = Blueprint("app_pages", __name__)


def app_pages(folders: tuple) -> list[dict[str, Any]]:
    """The pages of the folders that have one, in the folders' order, each with its folder's name as id."""
    pages = []
    for folder in folders:
        path = folder / APP_FILE
        if path.is_file():
            pages.append({"id": folder.name, **json.loads(path.read_text())})
    return pages


@bp.route("/apps.json")
def apps_json():
    """The app pages the dev host offers (no key needed: they hold no data, only which panels go where)."""
    return jsonify({"apps": app_pages(services().settings.workspaces)})
