"""The per-app services views use: settings, workspace, Temporal gateway, Redis stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import redis
from flask import Flask, current_app

from plugin.config import Settings
from plugin.readmodel.runs import RunReads
from plugin.store.admin.keys import KeyStore
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.inbox import Inbox
from plugin.store.redis_epoch import RedisEpoch
from plugin.store.requests.absences import Absences
from plugin.store.requests.request_locks import RequestLocks
from plugin.store.snapshots import RunSnapshots
from plugin.temporal_gateway import TemporalGateway
from plugin.workspace.loader import Workspace

EXTENSION = "workflows"
T = TypeVar("T")


@dataclass
class Services:
    """Everything a view needs, made once per app (the gateway connects lazily, after fork)."""

    settings: Settings
    workspace: Workspace
    gateway: TemporalGateway
    redis: redis.Redis
    inbox: Inbox
    keys: KeyStore
    runtime: RuntimeSettings = field(default=None)  # type: ignore[assignment]  # made from settings + redis
    epoch: RedisEpoch = field(default=None)  # type: ignore[assignment]  # notices Redis losing its data
    request_locks: RequestLocks = field(default=None)  # type: ignore[assignment]  # one change at a time
    runs: RunReads = field(default=None)  # type: ignore[assignment]  # runs composed from the read model
    absences: Absences = field(default=None)  # type: ignore[assignment]  # out of office (delegations)

    def __post_init__(self) -> None:
        if self.runtime is None:
            self.runtime = RuntimeSettings(self.settings, self.redis)
        if self.epoch is None:
            self.epoch = RedisEpoch(self.redis)
        if self.request_locks is None:
            self.request_locks = RequestLocks(self.redis)
        if self.runs is None:
            self.runs = RunReads(self.settings, self.gateway, self.inbox, RunSnapshots(self.redis))
        if self.absences is None:
            self.absences = Absences(self.redis)

    def init_app(self, app: Flask) -> None:
        """Attach to the app, and note which Redis data this process starts with."""
        app.extensions[EXTENSION] = self
        try:
            self.epoch.check()
        except redis.RedisError:
            pass  # Redis down at start-up: /readyz and the health page say so


def services() -> Services:
    """The current app's services."""
    return current_app.extensions[EXTENSION]


def per_app(name: str, make: Callable[[redis.Redis], T], app: Flask | None = None) -> T:
    """Something an app (the current one by default) makes once from its Redis (a store, a script) and keeps in
    ``app.extensions`` under ``workflows.<name>``."""
    app = app or current_app
    key = f"{EXTENSION}.{name}"
    found = app.extensions.get(key)
    if found is None:
        found = app.extensions[key] = make(app.extensions[EXTENSION].redis)
    return found
