"""One Redis connection pool per process, made from the settings."""

from __future__ import annotations

import redis

from plugin.config import Settings


def connect(settings: Settings) -> redis.Redis:
    """A Redis client for the configured server, with short timeouts so a dead server fails fast."""
    return redis.Redis.from_url(
        settings.effective_redis_url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30,
    )
