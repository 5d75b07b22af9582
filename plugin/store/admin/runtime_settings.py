"""Runtime settings: values an admin changes on the settings page, stored in Redis, seen by every API and
worker process within a second, without a restart. The environment (``WORKFLOWS_*``) gives the defaults.

Layout: ``wf:settings:runtime`` -> a JSON object of the overridden fields only (one write: nothing is ever
half-applied). Each process keeps what it read for at most ``MAX_AGE`` seconds.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from plugin.config import Settings
from plugin.errors import PluginError
from plugin.identity.config import TokenConfig, token_config

RUNTIME_KEY = "wf:settings:runtime"
MAX_AGE = 0.5  # seconds a process trusts what it read: a change is seen everywhere within a second
REQUEST_DEFAULT_FIELDS = ("due_in_seconds", "remind_every_seconds", "max_reminders")

# field -> the environment variable that gives its default ("" when only a built-in default exists)
FIELDS: dict[str, str] = {
    "cors_origins": "WORKFLOWS_CORS_ORIGINS",
    "http_allow_hosts": "WORKFLOWS_HTTP_ALLOW_HOSTS",
    "notify_url": "WORKFLOWS_NOTIFY_URL",
    "request_defaults": "",
    "identity_defaults": "WORKFLOWS_OIDC_*",
}
EMPTY: tuple[Any, ...] = (None, [], {}, {"oidc": None})  # a value the environment leaves unset


@dataclass(frozen=True)
class EffectiveSettings:
    """The values in force now, and where each comes from (``runtime``, ``environment`` or ``default``)."""

    cors_origins: tuple[str, ...] = ()
    http_allow_hosts: tuple[str, ...] = ()
    notify_url: str | None = None
    request_defaults: dict[str, Any] = field(default_factory=dict)
    oidc: TokenConfig | None = None
    sources: dict[str, str] = field(default_factory=dict)


def env_values(settings: Settings) -> dict[str, Any]:
    """The environment's value of each runtime field, as JSON (what an override falls back to)."""
    oidc = settings.identity.oidc
    return {"cors_origins": list(settings.cors_origins), "http_allow_hosts": list(settings.http_allow_hosts),
            "notify_url": settings.notify_url, "request_defaults": {},
            "identity_defaults": {"oidc": oidc.to_dict() if oidc else None}}


def effective(settings: Settings, overrides: dict[str, Any]) -> EffectiveSettings:
    """Overrides on top of the environment's values."""
    base = env_values(settings)
    values = {name: overrides.get(name, base[name]) for name in FIELDS}
    sources = {name: "runtime" if name in overrides else "environment" if base[name] not in EMPTY else "default"
               for name in FIELDS}
    raw_oidc = (values["identity_defaults"] or {}).get("oidc")
    oidc = token_config(raw_oidc, "identity_defaults.oidc") if raw_oidc else None
    return EffectiveSettings(cors_origins=tuple(values["cors_origins"]),
                             http_allow_hosts=tuple(values["http_allow_hosts"]), notify_url=values["notify_url"],
                             request_defaults=dict(values["request_defaults"] or {}), oidc=oidc, sources=sources)


class RuntimeSettings:
    """Read (cached at most ``MAX_AGE`` seconds per process) and change the runtime settings."""

    def __init__(self, settings: Settings, client: redis.Redis, max_age: float = MAX_AGE) -> None:
        self.settings = settings
        self._redis = client
        self._max_age = max_age
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._current = effective(settings, {})

    def overrides(self) -> dict[str, Any]:
        """The stored overrides, straight from Redis."""
        raw = self._redis.get(RUNTIME_KEY)
        return json.loads(raw) if raw else {}

    def current(self) -> EffectiveSettings:
        """The settings in force; when Redis cannot be read, the last ones read (or the environment's)."""
        now = time.monotonic()
        if now - self._read_at < self._max_age:
            return self._current
        with self._lock:
            if now - self._read_at >= self._max_age:
                try:
                    self._current = effective(self.settings, self.overrides())
                except (redis.RedisError, ValueError, PluginError):
                    pass  # keep serving what was last known; health reports Redis
                self._read_at = time.monotonic()
        return self._current

    def apply(self, changes: dict[str, Any]) -> EffectiveSettings:
        """Store validated changes in one write (``None`` drops an override: back to the environment's
        value); a concurrent change is never lost. This process sees the result at once."""
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(RUNTIME_KEY)
                    raw = pipe.get(RUNTIME_KEY)
                    overrides = json.loads(raw) if raw else {}
                    for name, value in changes.items():
                        if value is None:
                            overrides.pop(name, None)
                        else:
                            overrides[name] = value
                    pipe.multi()
                    pipe.set(RUNTIME_KEY, json.dumps(overrides, sort_keys=True))
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        with self._lock:
            self._current = effective(self.settings, overrides)
            self._read_at = time.monotonic()
        return self._current
