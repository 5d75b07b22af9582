"""The loaded workspaces (admin key only): each folder's queries and definitions with the ``check`` result of
each, as ``workflows-plugin check`` reports it for the files on disk now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from plugin.api.http.auth import authenticate
from plugin.api.services import services
from plugin.workspace.check import check_workspaces
from plugin.workspace.loader import inspect_workspaces

bp = Blueprint("workspaces", __name__, url_prefix="/api/v1/workspaces",
               description="Loaded workspaces and their check results (admin key only)")


class WorkspaceListSchema(Schema):
    """The loaded workspaces with their check results, and the totals."""

    workspaces = fields.List(fields.Dict(), metadata={
        "description": "folder, name, description, queries (name, label, workflow, mode, definition, problems), "
                       "definitions (id, label, version, file, status, messages), problems, warnings"})
    check = fields.Dict(metadata={"description": "ok, problems, warnings: totals over every workspace"})


@bp.before_request
def _auth() -> None:
    authenticate(("admin",))


def _relative(text: str, folders: list[Path]) -> str:
    """A message with folder paths shortened to the folder's name (no absolute paths in answers)."""
    for folder in folders:
        text = text.replace(str(folder.parent) + "/", "")
    return text


def _meta(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "workspace.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _folder_report(folder: Path, folders: list[Path], problems: list[Any], warnings: list[str]) -> dict[str, Any]:
    loaded = services().workspace
    meta = _meta(folder)
    mine = [p for p in problems if str(p.file).startswith(str(folder))]
    mine_warnings = [w for w in warnings if w.startswith(str(folder))]
    definitions = []
    for definition in loaded.definitions.values():
        if not str(definition.source).startswith(str(folder)):
            continue
        messages = [w for w in mine_warnings if w.startswith(str(definition.source))]
        messages += [str(p) for p in mine if str(p.file) == str(definition.source)]
        definitions.append({"id": definition.id, "label": definition.label, "version": definition.version[:12],
                            "file": definition.source.name, "messages": [_relative(m, folders) for m in messages],
                            "status": "warning" if messages else "ok"})
    queries = []
    for name in sorted(meta.get("queries") or {}):
        query = loaded.queries.get(name)
        found = [_relative(str(p), folders) for p in mine if p.query == name]
        queries.append({"name": name, "label": query.label if query else name,
                        "workflow": query.workflow if query else None, "mode": query.mode if query else None,
                        "definition": query.definition.id if query and query.definition else None,
                        "loaded": query is not None, "problems": found,
                        "status": "problem" if found or query is None else "ok"})
    return {"folder": folder.name, "name": meta.get("name") or folder.name, "description": meta.get("description"),
            "queries": queries, "definitions": sorted(definitions, key=lambda d: d["id"]),
            "problems": [_relative(str(p), folders) for p in mine],
            "warnings": [_relative(w, folders) for w in mine_warnings]}


@bp.route("")
@bp.doc(operationId="listWorkspaces")
@bp.response(200, WorkspaceListSchema)
@bp.alt_response(401, description="No or invalid key")
@bp.alt_response(403, description="Not an admin key")
def list_workspaces():
    """Every loaded workspace with its queries and definitions, and what ``check`` finds in them now."""
    svc = services()
    folders = list(svc.settings.workspaces)
    _, problems = inspect_workspaces(folders)
    report = check_workspaces(folders, svc.runtime.current().http_allow_hosts)
    shown = [_folder_report(folder, folders, problems, report.warnings) for folder in folders]
    return {"workspaces": shown, "check": {"ok": not report.problems, "problems": len(report.problems),
                                           "warnings": len(report.warnings)}}
