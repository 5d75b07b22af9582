"""A connection as the engine's activities use it: the declaration the workspace loaded, secrets still references.

It lives here, below the workspace that loads and checks declarations, because the activities that call
connections take it as their configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugin.engine.interpreter.spec import duration_seconds

DEFAULT_MAX_ROWS = 1000


@dataclass(frozen=True)
class Connection:
    """A connection as declared: secret references stay references until an activity resolves them."""

    name: str
    kind: str
    settings: dict[str, Any]
    source: str = ""

    def seconds(self, key: str, default: float) -> float:
        """A duration setting in seconds."""
        return duration_seconds(self.settings[key]) if key in self.settings else default
