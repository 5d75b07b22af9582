"""One Redis connection pool per process, made from the settings."""

from __future__ import annotations

import redis

from plugin.config import Settings


def connect(settings: Settings) -> redis.Redis:
    """A Redis client for the configured server, with short timeouts so a dead server fails fast, and a pool as
    large as the API's threads (redis-py's default of 100 connections refused calls once more threads than that
    waited on Redis at once, e.g. hundreds of event streams opening together)."""
    return redis.Redis.from_url(
        settings.effective_redis_url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30,
        max_connections=max(100, settings.api_threads + 32),
    )
