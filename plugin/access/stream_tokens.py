"""Stream tokens: ``EventSource`` cannot send headers, so a client trades its key and identity headers for a
short-lived signed token (``POST /api/v1/events/token``) and opens the stream with ``?token=``.

The token carries the identity and the key it was made with; it never outlives that key (its ``exp`` is at most
the key's ``expires_at``) and opens nothing once the key is revoked. The signing secret is made once and kept in
Redis, so every API process and every events edge verifies every token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import redis

from plugin.errors import Unauthorized
from plugin.models import Identity
from plugin.store.admin.keys import ApiKey, KeyStore

TOKEN_SECONDS = 300
SECRET_KEY = "wf:events:secret"


@dataclass(frozen=True)
class StreamCaller:
    """Who a stream is for, and the key it stands on: its id ("" for a bootstrap key), its name, its expiry."""

    identity: Identity
    key_id: str
    key_name: str
    key_expires_at: float | None = None

    @classmethod
    def of(cls, key: ApiKey, identity: Identity) -> StreamCaller:
        """The stream caller of an authenticated request."""
        return cls(identity, key.id, key.name, key.expires_at)


@dataclass(frozen=True)
class IssuedToken:
    """A token and how long it lives."""

    token: str
    expires_in: int


def _secret(client: redis.Redis) -> str:
    """The signing secret, shared through Redis (made once)."""
    client.set(SECRET_KEY, secrets.token_urlsafe(32), nx=True)
    raw = client.get(SECRET_KEY)
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def issue(client: redis.Redis, caller: StreamCaller) -> IssuedToken:
    """A signed token for this caller: ``TOKEN_SECONDS``, or less when the key expires sooner."""
    now = int(time.time())
    expires = now + TOKEN_SECONDS
    if caller.key_expires_at is not None:
        expires = min(expires, int(caller.key_expires_at))
    who = caller.identity
    claims = {"sub": who.user, "grp": who.groups, "adm": who.is_admin, "kid": caller.key_id,
              "knm": caller.key_name, "kex": caller.key_expires_at, "exp": expires}
    return IssuedToken(jwt.encode(claims, _secret(client), algorithm="HS256"), max(0, expires - now))


def verify(client: redis.Redis, keys: KeyStore, token: str) -> StreamCaller:
    """The caller a token stands for; 401 when it is forged, expired, or its key is revoked or expired."""
    try:
        claims: dict[str, Any] = jwt.decode(token, _secret(client), algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The stream token has expired; ask POST /api/v1/events/token for a new one") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("The stream token is not valid") from None
    key_id = str(claims.get("kid") or "")
    if key_id:
        record = keys.records([key_id])[0]
        expires = record.get("expires_at") if record else None
        if record is None or (expires and datetime.fromisoformat(expires).timestamp() <= time.time()):
            raise Unauthorized("The API key this stream token was made with is no longer valid")
    who = Identity(user=claims.get("sub") or "", groups=list(claims.get("grp") or []),
                   is_admin=bool(claims.get("adm")))
    kex = claims.get("kex")
    return StreamCaller(who, key_id, str(claims.get("knm") or "app"),
                        float(kex) if isinstance(kex, int | float) else None)

