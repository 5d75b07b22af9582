"""``workflows-plugin check``: validate workspace folders and report every problem at once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from plugin.engine.registry import registered_workflows
from plugin.errors import ConfigError
from plugin.workspace.connections import find_connections
from plugin.workspace.definitions import check_definitions


@dataclass
class CheckReport:
    """What a check found: problems (one line each) and what was valid."""

    problems: list[str] = field(default_factory=list)
    definitions: int = 0
    queries: int = 0


def check_workspaces(folders: list[Path]) -> CheckReport:
    """Every problem in the folders' definitions (all of them), then in their queries."""
    from plugin.workspace.loader import _import_modules, load_workspaces

    report = CheckReport()
    for folder in folders:
        source = folder / "workspace.json"
        try:
            data = json.loads(source.read_text())
            _import_modules(folder, data.get("python_modules", []) if isinstance(data, dict) else [], source)
        except (OSError, ValueError) as exc:
            report.problems.append(f"{source}: cannot be read: {exc}")
        except ConfigError as exc:
            report.problems.append(exc.message)
    report.problems += find_connections(folders)[1]
    loaded, problems = check_definitions(folders, set(registered_workflows()))
    report.problems += [str(p) for p in problems]
    report.definitions = len(loaded)
    if not report.problems:
        try:
            report.queries = len(load_workspaces(folders).queries)
        except ConfigError as exc:
            report.problems.append(exc.message)
    return report
