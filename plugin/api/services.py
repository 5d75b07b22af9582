"""The per-app services views use: settings, workspace, Temporal gateway, Redis stores."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask, current_app

from plugin.config import Settings
from plugin.store.inbox import Inbox
from plugin.store.keys import KeyStore
from plugin.temporal_gateway import TemporalGateway
from plugin.workspace.loader import Workspace

EXTENSION = "workflows"


@dataclass
class Services:
    """Everything a view needs, made once per app (the gateway connects lazily, after fork)."""

    settings: Settings
    workspace: Workspace
    gateway: TemporalGateway
    redis: redis.Redis
    inbox: Inbox
    keys: KeyStore

    def init_app(self, app: Flask) -> None:
        """Attach to the app."""
        app.extensions[EXTENSION] = self


def services() -> Services:
    """The current app's services."""
    return current_app.extensions[EXTENSION]
