"""Noticing that Redis lost its data (a flush, a restart without persistence), so the settings page can say
what went with it. Each process remembers the epoch marker it saw; a different or missing marker means the
data it stood for is gone. The notice is kept in Redis, so every process shows it."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import redis

from plugin.store.admin.keys import now_iso

EPOCH_KEY = "wf:redis:epoch"
LOST_KEY = "wf:redis:lost"
LOST = [
    "API keys made on the settings page (keys from WORKFLOWS_ADMIN_KEY / WORKFLOWS_APP_KEY still work)",
    "runtime settings (back to the environment's values)",
    "webhook tokens",
    "the settings audit log",
    "idempotency records and rate-limit counters",
]
REBUILT = ["the inbox (rebuilt from Temporal on the next read, or with 'Rebuild now')",
           "run snapshots (read from Temporal again)"]


class RedisEpoch:
    """The marker of this Redis's plugin data, and the notice written when it changed under a process."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._seen: str | None = None
        self._lock = threading.Lock()

    def check(self) -> dict[str, Any]:
        """Look at the marker (making one when missing); returns ``{since, lost}`` where ``lost`` is the
        notice of a loss noticed since this data began, or None."""
        with self._lock:
            raw = self._redis.get(EPOCH_KEY)
            if raw is None:
                self._redis.set(EPOCH_KEY, json.dumps({"id": uuid.uuid4().hex, "since": now_iso()}), nx=True)
                raw = self._redis.get(EPOCH_KEY)
            epoch = json.loads(raw)
            if self._seen is not None and self._seen != epoch["id"]:
                notice = {"epoch": epoch["id"], "noticed_at": now_iso(), "lost": LOST, "rebuilt": REBUILT}
                self._redis.set(LOST_KEY, json.dumps(notice), nx=True)
            self._seen = epoch["id"]
            lost_raw = self._redis.get(LOST_KEY)
        lost = json.loads(lost_raw) if lost_raw else None
        return {"since": epoch["since"], "lost": lost if lost and lost.get("epoch") == epoch["id"] else None}
