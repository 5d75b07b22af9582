"""Paths of the runs resource that other resources answer with (a trigger's ``status_url``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import flask

_PATH_SAFE = "!$&'()*+,/:;=@"  # what Werkzeug's default URL converter leaves unquoted


def status_url(run_id: str, root: str | None = None) -> str:
    """The path of ``GET /runs/{id}`` for a run: what ``url_for`` builds, without building the rule. ``root``: where
    the API is mounted (the request's ``script_root`` by default; ``script_root_of`` outside Flask's request)."""
    root = flask.request.script_root if root is None else root
    return f"{root}/api/v1/runs/{quote(run_id, safe=_PATH_SAFE)}"


def script_root_of(environ: dict[str, Any]) -> str:
    """A WSGI request's ``script_root``, as Werkzeug reads it from ``SCRIPT_NAME``."""
    return (environ.get("SCRIPT_NAME") or "").encode("latin1").decode(errors="replace").rstrip("/")
