"""Which requests go to Slack, and how: the routing table a workspace's ``slack`` section makes
(plugin/workspace/slack.py builds it; the worker hands it to the Slack activities and the follower)."""

from __future__ import annotations

from typing import Any

DELIVERIES = ("assignees", "dm", "channel", "off")


def delivery_for(routing: dict[str, Any], query: str, request_name: str) -> str:
    """How one request goes to Slack: its own entry, else its query's default, else ``off``."""
    routes = (routing.get("queries") or {}).get(query)
    if routes is None:
        return "off"
    return routes["requests"].get(request_name, routes["default"])
