"""What the Budibase, ToolJet and Retool emulators share: the live API over real HTTP, the recipes, and the part of
each host's guide (docs/hosts/<host>.md) that is generated from its recipe.

A recipe (tests/hosts/recipes/<host>.json) is the app a builder makes in that host, in the host's own terms:
the datasource, each query with its exact bindings, and each button's action with the bindings its host
evaluates. The emulator runs it literally; the guide prints it (``render``), and tests/hosts/test_recipes.py
fails when the printed block and the recipe differ. Rewrite the blocks with
``python -m tests.hosts.common`` after changing a recipe.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from tests.checkout import REPO_ROOT

RECIPES = Path(__file__).parent / "recipes"
GUIDES = REPO_ROOT / "docs" / "hosts"
BEGIN = "<!-- recipe: made from tests/hosts/recipes/{host}.json by `python -m tests.hosts.common`; edit the recipe -->"
END = "<!-- /recipe -->"
HOSTS = ("budibase", "tooljet", "retool")


@contextmanager
def live_api(app: Any) -> Iterator[str]:
    """The API app served over real HTTP on a free port, for the length of the block: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="host-emulator-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def recipe(host: str) -> dict[str, Any]:
    """The recipe of a host, as its file has it."""
    return json.loads((RECIPES / f"{host}.json").read_text())


def placeholders(value: Any, fills: dict[str, str]) -> Any:
    """A recipe value with its ``<app key>``-style placeholders filled (nested lists and objects too)."""
    if isinstance(value, str):
        for name, fill in fills.items():
            value = value.replace(f"<{name}>", fill)
        return value
    if isinstance(value, list):
        return [placeholders(v, fills) for v in value]
    if isinstance(value, dict):
        return {k: placeholders(v, fills) for k, v in value.items()}
    return value


def eventually(probe: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    """The first truthy answer of ``probe`` within ``timeout`` seconds (runs and the inbox follow Temporal)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(every)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _fill(query: dict[str, Any]) -> str:
    """What to fill in for a query: the recipe's words, else its URL, parameters, headers and body."""
    if "fill" in query:
        return query["fill"]
    parts = [f"URL `{query.get('url') or query['path']}`"]
    params = query.get("url_params") or {}
    pairs = params.items() if isinstance(params, dict) else params
    if pairs:
        parts.append("URL parameters " + ", ".join(f"`{k}` = `{v}`" for k, v in pairs))
    if query.get("parameters"):
        parts.append("query parameters " + ", ".join(f"`{p['name']}`" for p in query["parameters"]))
    if "json_body" in query:
        parts.append(f"JSON body `{query['json_body']}`")
    elif query.get("body"):
        parts.append("JSON body rows " + ", ".join(f"`{k}` = `{v}`" for k, v in query["body"].items()))
    return "; ".join(parts)


def render(host: str, manifest: dict[str, Any]) -> str:
    """The guide's block for a host, made from its recipe: steps, headers, queries and actions."""
    spec = recipe(host)
    templates = {t["label"]: t for t in manifest["query_templates"]}
    source = spec.get("datasource") or spec["resource"]
    fields = fields_to_fill(spec)
    lines = [BEGIN.format(host=host), "",
             f"**{len(spec['steps'])} steps, {fields} fields to type or paste: about {minutes(fields)} minutes** "
             f"for a newcomer who has the plugin running and a {spec['label']} account (at {SECONDS_A_FIELD} s a "
             "field, counted from the recipe by `tests/hosts/common.py`; not timed with a person). This block is "
             f"the recipe that `tests/hosts/test_{host}.py` runs through a {spec['label']} emulator written from "
             f"{spec['follows']}.", ""]
    lines += [f"{n}. {step}" for n, step in enumerate(spec["steps"], 1)]
    lines += ["", f"Headers of the {'resource' if 'resource' in spec else 'datasource'} (set once):", ""]
    lines += [f"- `{name}: {value}`" for name, value in source["headers"].items()]
    if spec.get("query_headers"):
        lines += ["", "Headers of every query:", ""]
        lines += [f"- `{name}: {value}`" for name, value in spec["query_headers"].items()]
    lines += ["", "| query name | template | method, path | fill in |", "|---|---|---|---|"]
    for name, query in spec["queries"].items():
        template = templates[query["template"]]
        lines.append(f"| `{name}` | {query['template']} | {template['method']} `{template['path']}` | "
                     f"{_cell(_fill(query))} |")
    lines += ["", "| component | event | runs | with |", "|---|---|---|---|"]
    for action in spec["actions"]:
        bound = ", ".join(f"`{k}` = JavaScript `{v['js']}`" if isinstance(v, dict) else f"`{k}` = `{v}`"
                          for k, v in action.get("bind", {}).items()) or "its own bindings"
        lines.append(f"| {_cell(action['component'])} | {_cell(action['event'])} | `{action['query']}` | "
                     f"{_cell(bound)} |")
    return "\n".join([*lines, "", END])


SECONDS_A_FIELD = 20  # the same rate as the Appsmith guide's count (tests/hosts/appsmith_guide.py)


def fields_to_fill(spec: dict[str, Any]) -> int:
    """How many fields a newcomer types or pastes: the datasource (URL or import, headers), each query (name,
    method, URL, each parameter, header and body row or body; an imported query only its edits), each action
    (its event and each value it passes) and each component of the page (with each binding it holds)."""
    source = spec.get("datasource") or spec["resource"]
    count = 1 + len(source["headers"])
    for query in spec["queries"].values():
        if "template" in query and "fill" in query and "url" not in query and "path" not in query:
            count += len(query.get("unquote", []))  # imported: only the builder's edits
            continue
        params = query.get("url_params") or {}
        count += 3 + len(params) + len(spec.get("query_headers", {})) + len(query.get("parameters", []))
        count += ("json_body" in query) + bool(query.get("body_toggle")) + len(query.get("body") or {})
    for action in spec["actions"]:
        count += 1 + len(action.get("bind", {}))
    for screen in spec["page"]["screens"]:
        for comp in screen["components"]:
            if not comp.get("ours"):
                count += 1 + sum(k in comp for k in ("rows", "value", "src", "default", "on_change"))
                count += len(comp.get("set", {})) + len(comp.get("columns", [])) // 2
    return count


def minutes(fields: int) -> int:
    """Minutes at SECONDS_A_FIELD a field, rounded up."""
    return -(-fields * SECONDS_A_FIELD // 60)


def generated_block(text: str, host: str) -> str | None:
    """The generated block a guide holds now (None when it has none)."""
    start = text.find(BEGIN.format(host=host))
    end = text.find(END, start)
    return text[start:end + len(END)] if start >= 0 and end >= 0 else None


def rewrite(host: str, manifest: dict[str, Any]) -> bool:
    """Put the recipe's block into the host's guide; True when the guide changed."""
    path = GUIDES / f"{host}.md"
    text = path.read_text()
    old = generated_block(text, host)
    new = render(host, manifest)
    if old is None:
        raise SystemExit(f"{path} has no generated block: add the line {BEGIN.format(host=host)!r} and {END!r}")
    if old == new:
        return False
    path.write_text(text.replace(old, new))
    return True


def binding_names(text: str) -> list[str]:
    """The ``{{ }}`` expressions of a text, as written."""
    return re.findall(r"\{\{.*?\}\}", text)


if __name__ == "__main__":  # python -m tests.hosts.common: rewrite the generated blocks of the guides
    manifest = json.loads((REPO_ROOT / "manifest.json").read_text())
    for name in sys.argv[1:] or HOSTS:
        print(name, "rewritten" if rewrite(name, manifest) else "unchanged")
