"""Paths of the runs resource that other resources answer with (a trigger's ``status_url``)."""

from __future__ import annotations

from urllib.parse import quote

import flask

_PATH_SAFE = "!$&'()*+,/:;=@"  # what Werkzeug's default URL converter leaves unquoted


def status_url(run_id: str) -> str:
    """The path of ``GET /runs/{id}`` for a run: what ``url_for`` builds, without building the rule."""
    return f"{flask.request.script_root}/api/v1/runs/{quote(run_id, safe=_PATH_SAFE)}"
