"""The settings audit log: every change to keys and settings, who made it and when (newest first)."""

from __future__ import annotations

import json
from typing import Any

import redis

from plugin.store.admin.keys import now_iso

AUDIT_LOG = "wf:settings:audit"
AUDIT_SIZE = 5000


class SettingsAudit:
    """Append-only log in Redis (a capped list); secrets are never written to it."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def record(self, actor: str, action: str, target: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Log one change; returns the entry."""
        entry = {"at": now_iso(), "actor": actor, "action": action, "target": target, "changes": changes or {}}
        with self._redis.pipeline() as pipe:
            pipe.lpush(AUDIT_LOG, json.dumps(entry))
            pipe.ltrim(AUDIT_LOG, 0, AUDIT_SIZE - 1)
            pipe.execute()
        return entry

    def recent(self, limit: int = 100, target: str | None = None) -> list[dict[str, Any]]:
        """The newest entries, optionally only those about one target (``key:<id>``)."""
        entries = [json.loads(raw) for raw in self._redis.lrange(AUDIT_LOG, 0, AUDIT_SIZE - 1 if target else limit - 1)]
        if target:
            entries = [e for e in entries if e["target"] == target]
        return entries[:limit]
