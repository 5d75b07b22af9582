"""Webhook settings per query (token, signing secret, rate limit) and the answers kept for replayed ids.

``wf:hook:{query}`` holds the query's webhook: the token's SHA-256 (the token itself is shown once, when
made), the signing secret and the rate limit. The signing secret is kept as given, because verifying an
HMAC needs the key itself; it is never shown again after it is made. Regenerating the token or the
secret replaces it in one write, so the old one stops working at once.

``wf:hook:seen:{query}:{digest of webhook-id}`` keeps the first answer to a ``webhook-id`` for
``REPLAY_TTL_SECONDS``, so a sender's retry answers the same instead of starting a second run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis

from plugin.store.inbox import PREFIX

DEFAULT_RATE_LIMIT = "60/minute"
REPLAY_TTL_SECONDS = 24 * 3600
TOKEN_PREFIX = "wfh_"
SECRET_PREFIX = "whsec_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Webhook:
    """A query's webhook as stored (never the token itself)."""

    query: str
    token_hash: str
    token_hint: str
    rate_limit: str = DEFAULT_RATE_LIMIT
    signing_secret: str | None = None
    created_at: str = ""
    created_by: str = ""
    token_rotated_at: str | None = None
    secret_rotated_at: str | None = None

    def token_matches(self, presented: str) -> bool:
        """Whether the presented token is this webhook's (compared in constant time)."""
        return hmac.compare_digest(self.token_hash, _hash(presented))

    def public(self) -> dict[str, Any]:
        """What the admin API shows: everything but the hash and the secret."""
        return {"query": self.query, "enabled": True, "token_hint": self.token_hint, "rate_limit": self.rate_limit,
                "signed": self.signing_secret is not None, "created_at": self.created_at,
                "created_by": self.created_by, "token_rotated_at": self.token_rotated_at,
                "secret_rotated_at": self.secret_rotated_at}


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a webhook-id: status, body and the run it was about."""

    status: int
    body: Any
    run_id: str | None = None


def new_token() -> str:
    """A fresh webhook token (URL-safe, so it can sit in the URL)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_signing_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookStore:
    """Read and change the webhooks of queries."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    @staticmethod
    def _key(query: str) -> str:
        return f"{PREFIX}hook:{query}"

    def get(self, query: str) -> Webhook | None:
        """The query's webhook, or None when it has none."""
        raw = self._redis.get(self._key(query))
        return Webhook(**json.loads(raw)) if raw else None

    def _put(self, hook: Webhook) -> None:
        self._redis.set(self._key(hook.query), json.dumps(asdict(hook)))

    def enable(self, query: str, by: str, rate_limit: str | None = None,
               signed: bool = False) -> tuple[Webhook, str, str | None]:
        """Enable (or re-enable) the query's webhook with a new token (and secret when ``signed``);
        returns the webhook, the token and the secret, both shown only now."""
        token = new_token()
        secret = new_signing_secret() if signed else None
        hook = Webhook(query=query, token_hash=_hash(token), token_hint=token[-4:],
                       rate_limit=rate_limit or DEFAULT_RATE_LIMIT, signing_secret=secret,
                       created_at=_now(), created_by=by)
        self._put(hook)
        return hook, token, secret

    def regenerate_token(self, hook: Webhook) -> tuple[Webhook, str]:
        """A new token; the old one stops working at once."""
        token = new_token()
        hook = replace(hook, token_hash=_hash(token), token_hint=token[-4:], token_rotated_at=_now())
        self._put(hook)
        return hook, token

    def regenerate_secret(self, hook: Webhook) -> tuple[Webhook, str]:
        """A new signing secret (signatures become required); the old one stops working at once."""
        secret = new_signing_secret()
        hook = replace(hook, signing_secret=secret, secret_rotated_at=_now())
        self._put(hook)
        return hook, secret

    def update(self, hook: Webhook, **changes: Any) -> Webhook:
        """Change settings (rate limit, signing off) and store them."""
        hook = replace(hook, **changes)
        self._put(hook)
        return hook

    def revoke(self, query: str) -> bool:
        """Remove the query's webhook (token and secret); False when it had none."""
        return bool(self._redis.delete(self._key(query)))

    @staticmethod
    def _seen_key(query: str, webhook_id: str) -> str:
        return f"{PREFIX}hook:seen:{query}:{_hash(webhook_id)}"

    def answer_for(self, query: str, webhook_id: str) -> StoredAnswer | None:
        """The first answer given to this webhook-id, if it is still kept."""
        raw = self._redis.get(self._seen_key(query, webhook_id))
        return StoredAnswer(**json.loads(raw)) if raw else None

    def keep_answer(self, query: str, webhook_id: str, answer: StoredAnswer) -> None:
        """Keep the first answer to a webhook-id (a later one never replaces it)."""
        self._redis.set(self._seen_key(query, webhook_id), json.dumps(asdict(answer), default=str),
                        nx=True, ex=REPLAY_TTL_SECONDS)
