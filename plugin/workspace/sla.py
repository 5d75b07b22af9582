"""The workspace's business calendars and SLA policies: checked, and pinned into each run's input.

In workspace.json (any folder of the workspace; names are unique across folders)::

    "calendars": {"paris-office": {"time_zone": "Europe/Paris", "working_days": ["mon", "tue", "wed", "thu", "fri"],
                                   "hours": {"start": "09:00", "end": "17:00"}, "holidays": ["2026-12-25"]}},
    "sla_policies": {"purchase-standard": {"calendar": "paris-office", "due_after": "16h", ...}},
    "queries": {"purchase": {..., "sla_policy": "purchase-standard"}}

The checks are the engine's own parsers (plugin/engine/sla/), so ``check`` says what a run would meet. Every
run pins all the policies and calendars (``RunInput.sla``), with its query's policy: a later edit of the
workspace never changes the times of a request already open, and a retried or scheduled run pins today's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from plugin.engine.interpreter.validate import Problem
from plugin.engine.sla.business_time import calendar_problems
from plugin.engine.sla.policy import AUTO_APPROVE, EXPIRE, Policy, PolicyError, parse_policy
from plugin.workspace.definitions import LoadedDefinition, steps_of_kind

SECTIONS = ("calendars", "sla_policies")
OWN_TIMERS = ("due_in_seconds", "due_resolution", "remind_every_seconds", "escalate_after_seconds")


def in_sla_sections(problem: Problem) -> bool:
    """A schema problem inside a calendar or a policy (reported here, in this module's words); the schema's own
    words stay for the sections themselves (names, not an object) and for descriptions."""
    section, _, rest = problem.field.partition(".")
    return not problem.query and section in SECTIONS and bool(rest) and not rest.endswith(".description")


def _declared(specs: Iterable[tuple[Path, dict[str, Any]]], section: str
              ) -> tuple[dict[str, Any], dict[str, Path], list[Problem]]:
    """The section's entries of every file by name, the file each came from, and names declared twice."""
    found: dict[str, Any] = {}
    where: dict[str, Path] = {}
    problems = []
    for source, data in specs:
        entries = data.get(section, {})
        if not isinstance(entries, dict):
            continue  # the schema says so
        for name, spec in entries.items():
            if name in found:
                problems.append(Problem(str(source), "", f"{section}.{name}",
                                        f"is also declared in {where[name]}"))
                continue
            found[name], where[name] = spec, source
    return found, where, problems


def check_sla(specs: list[tuple[Path, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Policy], list[Problem]]:
    """The pinnable SLA data ({policies, calendars, version}; empty without policies), the parsed policies, and
    every problem of the calendars and policies."""
    calendars, calendar_files, problems = _declared(specs, "calendars")
    policies, policy_files, more = _declared(specs, "sla_policies")
    problems += more
    for name, spec in calendars.items():
        for field, message in calendar_problems(spec):
            problems.append(Problem(str(calendar_files[name]), "", f"calendars.{name}" + (f".{field}" if field else ""),
                                    message))
    parsed: dict[str, Policy] = {}
    for name, spec in policies.items():
        try:
            parsed[name] = parse_policy(name, spec, calendars)
        except PolicyError as exc:
            problems.append(Problem(str(policy_files[name]), "", f"sla_policies.{name}", str(exc)))
    if not policies:
        return {}, parsed, problems
    content = {"policies": policies, "calendars": calendars}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**content, "version": hashlib.sha256(canonical.encode()).hexdigest()[:16]}, parsed, problems


def query_sla(spec: Any, pinned: dict[str, Any], definition: LoadedDefinition | None
              ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What a query's runs pin (with the query's own policy), or (field, message) for an unknown policy.

    Nothing for a node-based query that names no policy and none of whose approval steps (nor those of the
    definitions it calls) does: its runs then record no SLA patch marker. A code workflow may name any policy.
    """
    policy = spec.get("sla_policy", "") if isinstance(spec, dict) else ""
    if policy and policy not in pinned.get("policies", {}):
        known = ", ".join(sorted(pinned.get("policies", {}))) or "none declared"
        return {}, [("sla_policy", f"unknown SLA policy {policy!r} (sla_policies: {known})")]
    if not pinned:
        return {}, []
    if definition is not None and not policy:
        steps = [step for content in (definition.content, *definition.linked.values())
                 for step in steps_of_kind(content.get("steps"), "approval")]
        if not any(step.get("sla_policy") for step in steps):
            return {}, []
    return {**pinned, "policy": policy}, []


def definition_problems(definition: LoadedDefinition, query_policy: str, policies: dict[str, Policy],
                        declared: set[str]) -> list[Problem]:
    """Approval steps naming an unknown policy, or whose policy resolves expired requests with a resolution the
    step does not offer (checked where the step's values are fixed, not templates)."""
    problems = []
    for step in steps_of_kind(definition.content.get("steps"), "approval"):
        named = step.get("sla_policy")
        own = any(step.get(name) is not None for name in OWN_TIMERS)
        applied = named if isinstance(named, str) and named else (None if own else query_policy or None)
        if isinstance(named, str) and named and "{{" not in named and named not in declared:
            known = ", ".join(sorted(declared)) or "none declared"
            problems.append(Problem(str(definition.source), str(step.get("id", "")), "sla_policy",
                                    f"unknown SLA policy {named!r} (sla_policies: {known})"))
            continue
        policy = policies.get(applied or "")
        if policy is not None:
            via = "its SLA policy" if named else "its query's SLA policy"
            problems += [Problem(str(definition.source), str(step.get("id", "")), "sla_policy", f"{via} {message}")
                         for message in _expiry_problems(policy, step)]
    return problems


def _expiry_problems(policy: Policy, step: dict[str, Any]) -> list[str]:
    """An outcome at expiry that the approval step cannot take: a resolution it lacks, or an auto-approval by a
    resolution that rejects (and the reverse). Nothing when the step's resolutions are not fixed."""
    resolutions = step.get("resolutions")
    if policy.at_expiry == EXPIRE or not isinstance(resolutions, list) or not resolutions:
        return []
    outcome, resolution = policy.at_expiry.replace("_", "-"), policy.expiry_resolution
    if resolution not in resolutions:
        return [f"{policy.name!r} would {outcome} an expired request as {resolution!r}, which is not among the "
                f"step's resolutions {resolutions}"]
    rejecting = step.get("rejecting_resolutions")
    rejecting = rejecting if isinstance(rejecting, list) else resolutions[1:]
    if (policy.at_expiry == AUTO_APPROVE) == (resolution in rejecting):
        kind = "a rejecting resolution" if resolution in rejecting else "not a rejecting resolution"
        return [f"{policy.name!r} would {outcome} an expired request as {resolution!r}, {kind} of the step "
                f"(rejecting: {rejecting}): use {'auto_reject' if resolution in rejecting else 'auto_approve'}"]
    return []
