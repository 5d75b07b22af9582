"""Settings of live event streams (``WORKFLOWS_EVENTS_*``): where the events edge listens, the URL clients open
streams at, and the caps that keep streams fair. Read by ``plugin.config`` into ``Settings.streams``; kept apart
so the API settings stay one screen long.

| variable | default | what |
|---|---|---|
| ``WORKFLOWS_EVENTS_PORT`` | ``8788`` | where ``workflows-plugin events`` listens (on ``WORKFLOWS_HOST``) |
| ``WORKFLOWS_EVENTS_URL`` | unset | the edge's URL as browsers reach it (``up`` sets it): stream tokens point there |
| ``WORKFLOWS_EVENTS_MAX_PER_USER`` | ``8`` | open streams of one end user (of one key), across every process |
| ``WORKFLOWS_EVENTS_MAX_PER_KEY`` | ``5000`` | open streams of one API key (all its users), across every process |
| ``WORKFLOWS_EVENTS_MAX_STREAMS`` | ``20000`` | open streams of one events process (then 503) |
| ``WORKFLOWS_EVENTS_HEARTBEAT`` | ``15`` | seconds of silence before a heartbeat comment |
| ``WORKFLOWS_EVENTS_MAX_SECONDS`` | ``600`` | a stream's longest life; the client reconnects with ``Last-Event-ID`` |
| ``WORKFLOWS_EVENTS_KEY_CHECK`` | ``2`` | seconds between checks that a stream's key is still valid |

Without ``WORKFLOWS_EVENTS_URL`` streams open on the API's own origin, where a route sends ``/api/v1/events`` to
the edge (deploy/); a stream whose key is revoked or expires ends within ``WORKFLOWS_EVENTS_KEY_CHECK`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.errors import ConfigError


@dataclass(frozen=True)
class StreamSettings:
    """Where the events edge listens and the limits every stream server (edge and API) applies."""

    port: int = 8788
    public_url: str | None = None
    max_per_user: int = 8
    max_per_key: int = 5000
    max_streams: int = 20000
    heartbeat: float = 15.0
    max_seconds: float = 600.0
    key_check: float = 2.0

    @classmethod
    def from_env(cls, env: dict[str, str]) -> StreamSettings:
        """Read the ``WORKFLOWS_EVENTS_*`` variables; ConfigError names a bad one."""
        url = (env.get("WORKFLOWS_EVENTS_URL") or "").strip().rstrip("/") or None
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"WORKFLOWS_EVENTS_URL={url!r} must be an http:// or https:// URL")
        return cls(port=_number(env, "WORKFLOWS_EVENTS_PORT", cls.port, int, 65535),
                   public_url=url,
                   max_per_user=_number(env, "WORKFLOWS_EVENTS_MAX_PER_USER", cls.max_per_user, int, 10_000),
                   max_per_key=_number(env, "WORKFLOWS_EVENTS_MAX_PER_KEY", cls.max_per_key, int, 10_000_000),
                   max_streams=_number(env, "WORKFLOWS_EVENTS_MAX_STREAMS", cls.max_streams, int, 10_000_000),
                   heartbeat=_number(env, "WORKFLOWS_EVENTS_HEARTBEAT", cls.heartbeat, float, 3600),
                   max_seconds=_number(env, "WORKFLOWS_EVENTS_MAX_SECONDS", cls.max_seconds, float, 86400),
                   key_check=_number(env, "WORKFLOWS_EVENTS_KEY_CHECK", cls.key_check, float, 60))

    def to_env(self) -> dict[str, str]:
        """The variables that give a child process the same stream settings."""
        env = {"WORKFLOWS_EVENTS_PORT": str(self.port), "WORKFLOWS_EVENTS_MAX_PER_USER": str(self.max_per_user),
               "WORKFLOWS_EVENTS_MAX_PER_KEY": str(self.max_per_key),
               "WORKFLOWS_EVENTS_MAX_STREAMS": str(self.max_streams),
               "WORKFLOWS_EVENTS_HEARTBEAT": str(self.heartbeat), "WORKFLOWS_EVENTS_MAX_SECONDS": str(self.max_seconds),
               "WORKFLOWS_EVENTS_KEY_CHECK": str(self.key_check)}
        if self.public_url:
            env["WORKFLOWS_EVENTS_URL"] = self.public_url
        return env


def _number(env: dict[str, str], name: str, default: float, kind: type, high: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a {'whole ' if kind is int else ''}number") from None
    if not 0 < value <= high:
        raise ConfigError(f"{name}={value} is out of range (above 0, at most {high:g})")
    return value
