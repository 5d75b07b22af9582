"""Checks of single settings that a first production deployment gets wrong, each refused in one line naming
the setting: the Temporal UI's base URL, the log level, the worker's shutdown grace, the secrets' encryption
key, and placeholder secrets copied from the examples in deploy/."""

from __future__ import annotations

from collections.abc import Mapping

from plugin.errors import ConfigError

MIN_SECRETS_KEY = 32
# Values published in deploy/ and the docs: a process started with one of them is not secret at all.
PUBLISHED_PAYLOAD_KEY = "q2Dq8m8r5g2b9kQn0w3l1c6R7t4y2u5i8o0p3a6s9d4="
SECRET_SETTINGS = ("WORKFLOWS_REDIS_URL", "WORKFLOWS_ADMIN_KEY", "WORKFLOWS_APP_KEY", "WORKFLOWS_DECISION_SECRET",
                   "WORKFLOWS_LINK_SECRET", "WORKFLOWS_SECRETS_ENCRYPTION_KEY", "WORKFLOWS_PAYLOAD_KEYS",
                   "WORKFLOWS_TEMPORAL_API_KEY", "WORKFLOWS_APP_KEY_SIGNATURE_SECRET")


def temporal_ui_url(env: Mapping[str, str]) -> str | None:
    """``WORKFLOWS_TEMPORAL_UI_URL``: the UI's base URL; run detail appends ``/namespaces/<ns>/workflows/<id>``."""
    raw = (env.get("WORKFLOWS_TEMPORAL_UI_URL") or "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"WORKFLOWS_TEMPORAL_UI_URL={raw!r} must be an http:// or https:// URL")
    if "/namespaces/" in f"{raw}/":
        raise ConfigError(f"WORKFLOWS_TEMPORAL_UI_URL={raw!r} must be the UI's base URL (like https://cloud.temporal.io"
                          "): the plugin appends /namespaces/<namespace>/workflows/<id> itself")
    return raw


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what a browser sends as ``Origin``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}".lower()


def log_level(env: Mapping[str, str]) -> str:
    """``WORKFLOWS_LOG_LEVEL``, any case (``debug`` is ``DEBUG``)."""
    raw = (env.get("WORKFLOWS_LOG_LEVEL") or "INFO").strip().upper()
    if raw not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"WORKFLOWS_LOG_LEVEL={env.get('WORKFLOWS_LOG_LEVEL')!r} is not a log level: use DEBUG, "
                          "INFO, WARNING, ERROR or CRITICAL")
    return raw


def seconds(env: Mapping[str, str], name: str, default: float, high: float) -> float:
    """A number of seconds from 0 to ``high``."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 <= value <= high:
        raise ConfigError(f"{name}={value:g} is out of range (0..{high:g} seconds)")
    return value


def secrets_keys(env: Mapping[str, str]) -> tuple[str, ...]:
    """``WORKFLOWS_SECRETS_ENCRYPTION_KEY``: comma-separated keys of at least 32 characters (the first
    encrypts, all decrypt) for the secrets stored in Redis."""
    keys = tuple(k.strip() for k in (env.get("WORKFLOWS_SECRETS_ENCRYPTION_KEY") or "").split(",") if k.strip())
    if any(len(k) < MIN_SECRETS_KEY for k in keys):
        raise ConfigError(f"WORKFLOWS_SECRETS_ENCRYPTION_KEY is too short: use at least {MIN_SECRETS_KEY} characters "
                          "(openssl rand -base64 32)")
    return keys


def placeholder_secret(env: Mapping[str, str]) -> str | None:
    """The first setting that still holds a placeholder from the examples (``change-me...`` or the published
    payload key), as one line for the operator; None when there is none."""
    for name in SECRET_SETTINGS:
        value = env.get(name) or ""
        if "change-me" in value.lower():
            return f"{name} still holds the example's placeholder (change-me...): set a value of your own"
        if PUBLISHED_PAYLOAD_KEY in value:
            return f"{name} holds the key published in the examples: make your own (openssl rand -base64 32)"
    return None
