"""``GET /openapi.json``: the generated document, with ``servers`` and one typed operation per query.

The base is flask-smorest's document (generated from the marshmallow schemas, with the host fields of
:mod:`plugin.api.openapi.host`); this adds what depends on the request and on the loaded workspace.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from flask import Blueprint, Flask, current_app, request

from plugin.api.openapi.queries import add_typed_operations
from plugin.api.services import services

bp = Blueprint("openapi", __name__)

_API_EXTENSION = "workflows_openapi"
_lock = threading.Lock()
_MAX_CACHED = 8


def public_base_url() -> str:
    """Where hosts reach the API: the ``WORKFLOWS_PUBLIC_URL`` setting, else this request's own base URL."""
    return services().settings.public_url or request.host_url.rstrip("/")


def init_app(app: Flask, api: Any) -> None:
    """Serve the document of ``api`` (flask-smorest's Api, whose own JSON route is off)."""
    app.extensions[_API_EXTENSION] = {"api": api, "cache": {}}
    app.register_blueprint(bp)


def document_text(base_url: str) -> str:
    """The full document for a base URL, as JSON text (built once per workspace and base URL)."""
    state = current_app.extensions[_API_EXTENSION]
    workspace = services().workspace
    with _lock:
        if state.get("workspace") is not workspace or state.get("queries") != workspace.queries:
            # the workspace was reloaded or its queries changed: documents made from the older ones are stale
            state["workspace"], state["queries"], state["cache"] = workspace, dict(workspace.queries), {}
        text = state["cache"].get(base_url)
        if text is None:
            if len(state["cache"]) >= _MAX_CACHED:  # base URLs come from Host headers: keep the cache bounded
                state["cache"].clear()
            doc = copy.deepcopy(state["api"].spec.to_dict())
            doc["servers"] = [{"url": base_url, "description": "This plugin"}]
            add_typed_operations(doc, workspace)
            text = state["cache"][base_url] = json.dumps(doc)
    return text


def host_document(base_url: str) -> dict[str, Any]:
    """The full document for a base URL (a fresh copy the caller may change)."""
    return json.loads(document_text(base_url))


@bp.route("/openapi.json")
def openapi_json():
    """The OpenAPI 3 document a host can import as-is."""
    return current_app.response_class(document_text(public_base_url()), mimetype="application/json")
