"""``workflows-plugin check``: validate workspace folders and report every problem at once."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from plugin.engine.calls.net_guard import ForbiddenAddress, Guard, parse_allow_list
from plugin.engine.interpreter.templates import has_template
from plugin.workspace.definitions import LoadedDefinition, steps_of_kind


@dataclass
class CheckReport:
    """What a check found: problems and warnings (one line each) and what was valid."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    definitions: int = 0
    queries: int = 0


def check_workspaces(folders: list[Path], allow_hosts: Iterable[str] = (), guard: Guard | None = None
                     ) -> CheckReport:
    """Every problem in the folders (workspace files, definitions, queries) in one pass, and warnings for
    ``http`` steps that the outbound guard will refuse at run time."""
    from plugin.workspace.loader import inspect_workspaces

    workspace, problems = inspect_workspaces(folders)
    guard = guard or Guard(allow=parse_allow_list(allow_hosts))
    report = CheckReport(problems=[str(p) for p in problems], definitions=len(workspace.definitions),
                         queries=len(workspace.queries))
    for definition in workspace.definitions.values():
        report.warnings += _inside_network_warnings(definition, guard)
    return report


def _inside_network_warnings(definition: LoadedDefinition, guard: Guard) -> list[str]:
    """A warning for each http step whose fixed URL resolves inside the network and is not allowed."""
    warnings = []
    for step in steps_of_kind(definition.content.get("steps"), "http"):
        url = step.get("url")
        if not isinstance(url, str) or has_template(url):
            continue  # known only at run time
        parts = urlsplit(url)
        if not parts.hostname:
            continue
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            guard.addresses(parts.hostname, port)
        except ForbiddenAddress as exc:
            warnings.append(f"{definition.source}: step {step.get('id')!r}: url: {exc} (it will be refused "
                            "at run time)")
        except (ConnectionError, ValueError, ipaddress.AddressValueError):
            continue  # not resolvable from here: nothing to say
    return warnings
