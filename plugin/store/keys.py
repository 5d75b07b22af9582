"""API keys: bootstrap keys from the settings, more keys stored hashed in Redis."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import redis

from plugin.config import Settings

SCOPES = ("admin", "app", "webhook")


@dataclass(frozen=True)
class ApiKey:
    """What a presented key grants."""

    name: str
    scope: str
    query: str | None = None


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(scope: str) -> str:
    """A fresh random key; its prefix tells its scope at a glance."""
    return f"wfp_{scope}_{secrets.token_urlsafe(24)}"


class KeyStore:
    """Look up presented keys. Settings keys never depend on Redis, so a flushed Redis locks nobody out."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._bootstrap = [
            (hash_key(k), ApiKey(name=scope, scope=scope))
            for scope, k in (("admin", settings.admin_key), ("app", settings.app_key)) if k
        ]
        self._redis = client

    def lookup(self, presented: str) -> ApiKey | None:
        """The key's grant, or None when it is unknown."""
        digest = hash_key(presented)
        for known, grant in self._bootstrap:
            if hmac.compare_digest(known, digest):
                return grant
        raw = self._redis.get(f"wf:key:{digest}")
        if not raw:
            return None
        data = json.loads(raw)
        return ApiKey(name=data["name"], scope=data["scope"], query=data.get("query"))
