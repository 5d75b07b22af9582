"""Write the recipe-driven parts of docs/hosts/appsmith.md from tests/hosts/recipes/appsmith.json, so the guide a
newcomer follows is the setup the emulator runs. Blocks between ``<!-- recipe:NAME -->`` and
``<!-- /recipe:NAME -->`` are generated; ``python -m tests.hosts.appsmith_guide`` rewrites them and
tests/hosts/test_appsmith_guide.py fails when the file differs from what the recipe gives."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from tests.checkout import REPO_ROOT
from tests.hosts.appsmith_emulator import load_recipe

GUIDE = REPO_ROOT / "docs" / "hosts" / "appsmith.md"
SECONDS_PER_FIELD = 20  # typing or pasting one field of Appsmith's editor, for someone who has the guide open
_BLOCK = re.compile(r"(<!-- recipe:(\w+) -->\n)(.*?)(<!-- /recipe:\2 -->)", re.S)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def object_entries(binding: str) -> list[tuple[str, str]]:
    """The ``key: expression`` pairs of a ``{{ {k: expr, ...} }}`` Default Model (top-level commas only)."""
    inner = binding.strip()[2:-2].strip()[1:-1]
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(inner):
        if quote:
            quote = "" if ch == quote and inner[i - 1] != "\\" else quote
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [(p.split(":", 1)[0].strip(), p.split(":", 1)[1].strip()) for p in parts if p.strip()]


def _templates() -> dict[str, dict[str, Any]]:
    manifest = json.loads((REPO_ROOT / "manifest.json").read_text())
    return {t["label"]: t for t in manifest["query_templates"]}


def _fill_in(query: dict[str, Any]) -> str:
    bits = []
    if "{" in query["path"] or query["path"] != _templates()[query["template"]]["path"]:
        bits.append(f"URL path `{query['path']}`")
    bits += [f"param `{k}` = `{v}`" for k, v in query.get("params", {}).items()]
    bits += [f"header `{k}: {v}`" for k, v in query.get("headers", {}).items()]
    if query.get("body") is not None:
        bits.append(f"body (JSON) `{query['body']}`")
    if query.get("run_on_page_load"):
        bits.append("Settings: run on page load")
    if query.get("confirm_before_running"):
        bits.append("Settings: request confirmation before running")
    return _cell("; ".join(bits) or "nothing else")


def fields_to_fill(recipe: dict[str, Any]) -> int:
    """How many fields a newcomer types or pastes: the key, the datasource, each query, each widget."""
    count = 3 + 2 + len(recipe["datasource"]["headers"])  # key (name, identity, secret); URL, signature; headers
    for query in recipe["queries"]:
        count += 3 + len(query.get("params", {})) + len(query.get("headers", {})) + len(recipe["identity_header"])
        count += (query.get("body") is not None) + bool(query.get("run_on_page_load")) + \
            bool(query.get("confirm_before_running"))
    for widget in recipe["widgets"]:
        count += 3 + 1 + 1 + len(widget["events"])  # HTML, CSS, JS; Default Model; Auto Height; events
    return count


def blocks(recipe: dict[str, Any]) -> dict[str, str]:
    """The generated text of each marked block."""
    templates = _templates()
    rows = ["| query name | template | method, path | fill in |", "|---|---|---|---|"]
    for q in recipe["queries"]:
        t = templates[q["template"]]
        rows.append(f"| `{q['name']}` | {q['template']} | {t['method']} `{t['path']}` | {_fill_in(q)} |")
    (header, value), = recipe["identity_header"].items()
    widgets = []
    for w in recipe["widgets"]:
        widgets += [f"### Panel: {w['panel']}", "",
                    f"Widget `{w['name']}`: paste `workflows-plugin panels export {w['panel']}`; Height: "
                    f"**{'Auto Height' if w['height'] == 'auto' else 'Fixed'}**. Default Model (one binding, "
                    "not JSON with quoted `{{ }}`):", "", "```", w["default_model"], "```", "",
                    "| model key | bind to |", "|---|---|"]
        widgets += [f"| `{k}` | `{{{{{_cell(v)}}}}}` |" for k, v in object_entries(w["default_model"])]
        widgets += ["", "| event | runs |", "|---|---|"]
        widgets += [f"| `{name}` | `{_cell(code)}` |" for name, code in w["events"].items()]
        widgets.append("")
    fields = fields_to_fill(recipe)
    minutes = round(fields * SECONDS_PER_FIELD / 60)
    return {
        "effort": f"**{recipe['newcomer']['steps']} steps, {fields} fields to type or paste: about {minutes} minutes** "
                  f"(at {SECONDS_PER_FIELD} s a field, counted from the recipe by `tests/hosts/appsmith_guide.py`).\n",
        "datasource": (f"- URL: `{recipe['plugin']['datasource_url']}` (Appsmith's server calls it: inside Docker, "
                       "`host.docker.internal` reaches the plugin on the Docker host)\n"
                       + "".join(f"- Header `{k}: {v.replace('{app_key}', '<the app key>')}`\n"
                                 for k, v in recipe["datasource"]["headers"].items())
                       + "- Turn on **Send Appsmith signature header** and give it the key's `signature_secret`\n"),
        "identity": f"Add this header to **every** query: `{header}: {value}`\n",
        "queries": "\n".join(rows) + "\n",
        "widgets": "\n".join(widgets),
    }


def render(text: str, recipe: dict[str, Any]) -> str:
    """``text`` with every marked block replaced by what the recipe gives."""
    made = blocks(recipe)
    return _BLOCK.sub(lambda m: m.group(1) + made[m.group(2)] + m.group(4), text)


if __name__ == "__main__":
    GUIDE.write_text(render(GUIDE.read_text(), load_recipe()))
    sys.stdout.write(f"wrote {GUIDE}\n")
