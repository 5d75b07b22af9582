"""The events edge as a child of ``up``: where browsers reach it, how to start it again, how to tell it answers.

``up`` runs the edge on its own port (``WORKFLOWS_EVENTS_PORT``, 8788) and sets ``WORKFLOWS_EVENTS_URL`` for the
API, so the stream tokens it hands out point at the edge: the panels open ``token.url`` as it is, and the edge
lets the API's own origin read its streams (CORS). No proxy sits between them.
"""

from __future__ import annotations

import sys
import urllib.request
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from plugin.config import Settings
from plugin.embedded.processes import ManagedProcess, StartupError, reach_host, spawn, wait_port_free
from plugin.embedded.supervisor import Recipe


def with_events_url(settings: Settings) -> Settings:
    """The settings with the edge's URL filled in (as browsers reach it), unless one is configured."""
    if settings.streams.public_url:
        return settings
    host = urlsplit(settings.public_base_url).hostname or settings.host  # where browsers open the API
    url = f"http://{reach_host(host)}:{settings.streams.port}"
    return settings.with_overrides(streams=replace(settings.streams, public_url=url))


def events_healthy(settings: Settings) -> bool:
    """The edge answers its /healthz on this machine."""
    url = f"http://{reach_host(settings.host)}:{settings.streams.port}/healthz"
    with urllib.request.urlopen(url, timeout=3) as response:
        return response.status == 200


def events_recipe(settings: Settings, env: dict[str, str], logs: Path) -> Recipe:
    """How ``up`` starts the edge, and starts it again when it dies."""
    def launch() -> ManagedProcess:
        if not wait_port_free(settings.streams.port, 10):
            raise StartupError(f"Port {settings.streams.port} (for live events) is still in use")
        return spawn("Events", [sys.executable, "-m", "plugin.cli", "events"], logs / "events.log", env)

    return Recipe("events", launch, lambda _proc: events_healthy(settings))
