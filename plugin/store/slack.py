"""What the Slack integration keeps in Redis: the connection's settings, the message of each request in each
place it was posted (so changes edit it in place), Slack user <-> email lookups, and the interaction
signatures already used (replays are refused).

Keys (prefix ``wf:slack:``):
- ``config``: hash: ``api_url`` (Slack's Web API, or a stand-in), ``connected_by``, ``connected_at``. The bot
  token and the signing secret are secrets (``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``: Redis, encrypted,
  plugin/store/admin/shared_secrets.py), never here.
- ``msg:{request id}``: hash, target (``user:{email}`` or ``group:{name}``) -> JSON ``{channel, ts, version,
  reminders, state, error}``; kept 30 days after the last change.
- ``email:{email}`` -> Slack user id, ``user:{team}:{user id}`` -> email: cached one day.
- ``seen:{sha256 of the signature}``: an interaction already taken, kept 10 minutes (twice Slack's 5-minute
  tolerance, after which the timestamp alone refuses it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis

PREFIX = "wf:slack:"
CONFIG = f"{PREFIX}config"
BOT_TOKEN_SECRET = "SLACK_BOT_TOKEN"
SIGNING_SECRET = "SLACK_SIGNING_SECRET"
DEFAULT_API_URL = "https://slack.com/api/"
MESSAGE_TTL = 30 * 86400
LOOKUP_TTL = 86400
SEEN_TTL = 600


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class SlackStore:
    """Redis state of the Slack integration (no secret values: those are in the shared secrets)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    # -- connection settings ----------------------------------------------------------------------

    def config(self) -> dict[str, str]:
        """The stored settings (``api_url`` defaults to Slack's own)."""
        stored = {_text(k): _text(v) for k, v in self.redis.hgetall(CONFIG).items()}
        return {"api_url": DEFAULT_API_URL, **stored}

    def set_config(self, **values: str) -> None:
        """Store settings (empty values are dropped)."""
        keep = {k: v for k, v in values.items() if v}
        if keep:
            self.redis.hset(CONFIG, mapping=keep)

    def clear_config(self) -> None:
        """Forget the settings (disconnect)."""
        self.redis.delete(CONFIG)

    # -- messages per request ------------------------------------------------------------------------

    def messages(self, request_id: str) -> dict[str, dict[str, Any]]:
        """Target -> what was posted there for this request."""
        raw = self.redis.hgetall(f"{PREFIX}msg:{request_id}")
        return {_text(k): json.loads(v) for k, v in raw.items()}

    def save_message(self, request_id: str, target: str, record: dict[str, Any]) -> None:
        """Remember (or update) the message of one target."""
        key = f"{PREFIX}msg:{request_id}"
        with self.redis.pipeline() as pipe:
            pipe.hset(key, target, json.dumps(record, separators=(",", ":")))
            pipe.expire(key, MESSAGE_TTL)
            pipe.execute()

    # -- people ------------------------------------------------------------------------------------

    def user_for_email(self, email: str) -> str | None:
        """The cached Slack user id of an email."""
        found = self.redis.get(f"{PREFIX}email:{email.lower()}")
        return _text(found) if found else None

    def email_for_user(self, team: str, user_id: str) -> str | None:
        """The cached email of a Slack user."""
        found = self.redis.get(f"{PREFIX}user:{team}:{user_id}")
        return _text(found) if found else None

    def remember_person(self, team: str, user_id: str, email: str) -> None:
        """Cache a lookup both ways (a day: a changed email in Slack is seen by tomorrow)."""
        with self.redis.pipeline() as pipe:
            pipe.set(f"{PREFIX}email:{email.lower()}", user_id, ex=LOOKUP_TTL)
            if team:
                pipe.set(f"{PREFIX}user:{team}:{user_id}", email.lower(), ex=LOOKUP_TTL)
            pipe.execute()

    # -- interactions ------------------------------------------------------------------------------

    def first_use(self, signature: str) -> bool:
        """True the first time a signature is seen (within 10 minutes); False for a replay."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        return bool(self.redis.set(f"{PREFIX}seen:{digest}", 1, nx=True, ex=SEEN_TTL))
