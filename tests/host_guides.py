"""Read a "Connect a host" guide (docs/hosts/<host>.md) and list what it names that the plugin does not offer.

A guide names queries in a table (`| query name | template | method, path | ... |`), panels under
`### Panel: <id>` with tables of model keys (`| model key | bind to |`) and events (`| event | runs |`),
iframe URLs (`/ui/<panel>/#...&identity=<binding>`), identity headers (`X-Workflows-User: {{...}}`) and
OpenAPI operation ids in backticks. Each is checked against manifest.json and the live OpenAPI document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.checkout import REPO_ROOT

GUIDES = REPO_ROOT / "docs" / "hosts"
_ROW = re.compile(r"^\|(.+)\|\s*$")
_TICKED = re.compile(r"`([^`]+)`")
_METHOD_PATH = re.compile(r"\b(GET|POST|PATCH|PUT|DELETE)\s+`(/[^`]+)`")
_QUERY_USE = re.compile(r"\b([A-Z][A-Za-z0-9]+)\.(?:data|run|trigger)\b")
_HEADER = re.compile(r"(X-Workflows-(?:User|Groups|Identity)):\s*((?:\{\{.+?\}\})|(?:<<\w+>>))")
_IFRAME = re.compile(r"/ui/([a-z_]+)/#([^`\"\s]*)")
_OPERATION_ID = re.compile(r"^(?:list|get|trigger|resolve|reassign|cancel|retry)[A-Z][A-Za-z]+$")


@dataclass
class Guide:
    """What one guide names."""

    queries: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # name -> (label, method, path)
    panels: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)  # id -> table -> rows
    iframes: list[tuple[str, str]] = field(default_factory=list)  # (panel id, fragment)
    headers: list[tuple[str, str]] = field(default_factory=list)
    operation_ids: set[str] = field(default_factory=set)


def manifest() -> dict[str, Any]:
    """manifest.json as the file has it."""
    return json.loads((REPO_ROOT / "manifest.json").read_text())


def panels_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The manifest's panels by id, each model key and event with the operationId it binds to (None: none)."""
    return {entry["id"]: {"entry": entry["entry"],
                          "model": {k: v.get("operationId") for k, v in entry["model"].items()},
                          "events": {e["name"]: e["operationId"] for e in entry["events"]}}
            for entry in doc["panels"]}


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", _ROW.match(line).group(1))]


def parse(text: str) -> Guide:
    """The names a guide's text uses, in the conventions described in the module docstring."""
    guide = Guide()
    panel, table = None, None
    for line in text.splitlines():
        if line.startswith("#"):
            found = re.match(r"^###\s+Panel:\s*(\S+)", line)
            panel = found.group(1) if found else None
            if panel:
                guide.panels.setdefault(panel, {"model": [], "events": []})
            table = None
        elif _ROW.match(line):
            cells = _cells(line)
            head = cells[0].lower()
            if head in ("query name", "model key", "event"):
                table = {"query name": "queries", "model key": "model", "event": "events"}[head]
            elif set(cells[0]) <= {"-", ":"}:
                pass
            elif table == "queries":
                name = _TICKED.search(cells[0]).group(1)
                method, path = _METHOD_PATH.search(cells[2]).groups()
                guide.queries[name] = (cells[1], method, path)
            elif table in ("model", "events") and panel:
                guide.panels[panel][table].append((_TICKED.search(cells[0]).group(1), cells[1]))
        else:
            table = None if not line.strip() else table
        guide.iframes += _IFRAME.findall(line)
        guide.headers += _HEADER.findall(line)
        guide.operation_ids |= {t for t in _TICKED.findall(line) if _OPERATION_ID.match(t)}
    return guide


def problems(text: str, host: str, doc: dict[str, Any], operations: set[str]) -> list[str]:
    """Everything the guide for ``host`` names that manifest.json (``doc``) or the OpenAPI operations lack."""
    guide = parse(text)
    out: list[str] = []
    templates = {t["label"]: t for t in doc["query_templates"]}
    panels = panels_of(doc)
    for name, (label, method, path) in guide.queries.items():
        template = templates.get(label)
        if not template:
            out.append(f"query {name}: no query template labelled {label!r}")
        elif (template["method"], template["path"]) != (method, path):
            out.append(f"query {name}: {method} {path} is not {label}'s {template['method']} {template['path']}")

    def operation_of(query: str) -> str | None:
        return templates[guide.queries[query][0]]["operationId"] if query in guide.queries and \
            guide.queries[query][0] in templates else None

    for panel_id, tables in guide.panels.items():
        panel = panels.get(panel_id)
        if not panel:
            out.append(f"panel {panel_id}: not in the manifest")
            continue
        for kind in ("model", "events"):
            for key, cell in tables[kind]:
                if key not in panel[kind]:
                    out.append(f"panel {panel_id}: no {kind} key {key!r} (has {sorted(panel[kind])})")
                    continue
                used = _QUERY_USE.findall(cell)
                if kind == "model" and panel[kind][key] is None:
                    continue  # bound to something other than a query's data (the signed-in user)
                if not used or used[0] not in guide.queries:
                    out.append(f"panel {panel_id}: {kind} {key!r} uses {used[:1]}, not a query the guide creates")
                elif panel[kind][key] and operation_of(used[0]) != panel[kind][key]:
                    out.append(f"panel {panel_id}: {kind} {key!r} is for {panel[kind][key]}, "
                               f"but {used[0]} is {operation_of(used[0])}")
    bindings = _host_bindings(doc["hosts"][host])
    for panel_id, fragment in guide.iframes:
        if panel_id not in panels:
            out.append(f"iframe /ui/{panel_id}/: no such panel")
        elif panels[panel_id]["entry"].split("/")[-2] != panel_id:
            out.append(f"iframe /ui/{panel_id}/: the panel's entry is {panels[panel_id]['entry']}")
        token = re.search(r"identity=(\{\{.+?\}\})", fragment)
        if token and ("X-Workflows-Identity", token.group(1)) not in bindings:
            out.append(f"iframe /ui/{panel_id}/: identity {token.group(1)} is not a token binding of {host}")
    for header in guide.headers:
        if header not in bindings:
            out.append(f"header {header[0]}: {header[1]} is not one of {host}'s bindings in the manifest")
    out += [f"operation {op}: not in /openapi.json" for op in sorted(guide.operation_ids - operations)]
    return out


def _host_bindings(host: dict[str, Any]) -> set[tuple[str, str]]:
    return {(name, value) for binding in [host["user"], *host.get("alternatives", [])]
            for name, value in binding["headers"].items()}
