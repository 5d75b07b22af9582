"""A query's definition as a step graph, for the binding helper: what a node-based query will do."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from plugin.api.http.auth import authenticate
from plugin.api.http.capabilities import require
from plugin.api.services import services
from plugin.errors import NotFound

bp = Blueprint("definitions", __name__, url_prefix="/api/v1/queries", description="Query definitions")


class DefinitionSchema(Schema):
    """A query's steps as a graph (node-based definitions); empty for Python workflows."""

    query = fields.String()
    workflow = fields.String()
    node_based = fields.Boolean()
    version = fields.String(allow_none=True)
    steps = fields.List(fields.Dict(), metadata={"description": "Nodes {id, name, kind, paths: [{label, steps}]}"})


@bp.before_request
def _auth() -> None:
    authenticate(("admin", "app"))
    require("read")


def _paths(step: dict[str, Any]) -> list[dict[str, Any]]:
    """The step lists nested in a step, each with the label a graph shows on its edge."""
    kind = step.get("kind")
    out: list[dict[str, Any]] = []
    if kind == "branch":
        out += [{"label": f"if {case.get('if', '')}", "steps": graph(case.get("steps") or [])}
                for case in step.get("cases") or [] if isinstance(case, dict)]
        if "else" in step:
            out.append({"label": "else", "steps": graph(step.get("else") or [])})
    elif kind == "parallel":
        out += [{"label": branch.get("name") or f"branch {i + 1}", "steps": graph(branch.get("steps") or [])}
                for i, branch in enumerate(step.get("branches") or []) if isinstance(branch, dict)]
    elif kind == "foreach":
        out.append({"label": f"for each in {step.get('items', '')}", "steps": graph(step.get("steps") or [])})
    if step.get("on_error"):
        out.append({"label": "on error", "steps": graph(step["on_error"])})
    return out


def graph(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps as graph nodes, nested paths included."""
    return [{"id": s.get("id"), "name": s.get("name") or s.get("id"), "kind": s.get("kind"), "paths": _paths(s)}
            for s in steps if isinstance(s, dict)]


@bp.route("/<name>/definition")
@bp.response(200, DefinitionSchema)
@bp.alt_response(401, description="No valid API key")
@bp.alt_response(404, description="No such query")
def get_definition(name: str):
    """The query's steps as a graph (node-based queries), for previewing what a binding will run."""
    query = services().workspace.queries.get(name)
    if query is None:
        raise NotFound(f"No query named {name!r}; GET /api/v1/queries lists them")
    loaded = query.definition
    return {"query": name, "workflow": query.workflow, "node_based": loaded is not None,
            "version": loaded.label if loaded else None,
            "steps": graph(loaded.content.get("steps") or []) if loaded else []}
