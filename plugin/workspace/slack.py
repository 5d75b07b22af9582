"""Where a workspace's requests go in Slack: the ``slack`` section of ``workspace.json``.

::

    "slack": {"channels": {"finance": "#finance-approvals"}, "open_url": "https://host/app?request={request_id}",
              "queries": {"submit_expense": "assignees",
                          "purchase": {"default": "dm", "requests": {"Finance review": "channel"}}}}

A delivery is ``assignees`` (a DM to each assigned user, found by email, and a post in the channel of each
assigned group), ``dm`` (users only), ``channel`` (groups only) or ``off``. A query not named sends nothing
to Slack. The schema checks the shapes; this module checks what a schema cannot (the queries exist, each
group a query may send to a channel has one) and merges the sections of several workspace folders into one
routing table that the worker hands to its Slack activities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugin.engine.interpreter.validate import Problem
from plugin.engine.slack.routing import DELIVERIES, delivery_for

__all__ = ["DELIVERIES", "delivery_for", "slack_routing"]

def _query_routes(raw: Any) -> dict[str, Any]:
    """``{"default": delivery, "requests": {name: delivery}}`` of one query's entry (shape already checked)."""
    if isinstance(raw, str):
        return {"default": raw, "requests": {}}
    if isinstance(raw, dict):
        requests = raw.get("requests") if isinstance(raw.get("requests"), dict) else {}
        return {"default": raw.get("default", "assignees"), "requests": dict(requests)}
    return {"default": "off", "requests": {}}


def slack_routing(specs: list[tuple[Path, dict[str, Any], list[Problem]]], queries: set[str]
                  ) -> tuple[dict[str, Any], list[Problem]]:
    """The merged routing ``{"channels": {group: channel}, "queries": {query: routes}}`` and the problems."""
    routing: dict[str, Any] = {"channels": {}, "queries": {}, "open_url": ""}
    problems: list[Problem] = []
    for source, data, schema_found in specs:
        section = data.get("slack")
        if not isinstance(section, dict) or any(p.field.split(".")[0] == "slack" for p in schema_found):
            continue  # absent, or the schema has reported what is wrong with it
        routing["open_url"] = section.get("open_url") or routing["open_url"]
        for group, channel in (section.get("channels") or {}).items():
            known = routing["channels"].get(group)
            if known is not None and known != channel:
                problems.append(Problem(str(source), "", f"slack.channels.{group}",
                                        f"group {group!r} is sent to {known!r} by another workspace folder"))
            routing["channels"][group] = channel
        for query, raw in (section.get("queries") or {}).items():
            if query not in queries:
                problems.append(Problem(str(source), "", f"slack.queries.{query}",
                                        f"unknown query {query!r} (queries: {', '.join(sorted(queries)) or 'none'})"))
                continue
            routing["queries"][query] = _query_routes(raw)
    return routing, problems
