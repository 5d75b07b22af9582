"""Signed approval links: one assignee, one resolution, one request version, until the due time (at most
7 days), used once. An HMAC with a server secret shared by API and workers (``WORKFLOWS_LINK_SECRET``, or
one made once and kept in Redis)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis

from plugin.errors import Unauthorized

if TYPE_CHECKING:  # the settings are above identity (they hold its settings); only their type is named here
    from plugin.config import Settings

LINK_LIFETIME = 7 * 24 * 3600
SECRET_KEY = "wf:link:secret"
USED_PREFIX = "wf:link:used:"
LINK_KINDS = ("assigned", "reminder", "escalated")


@dataclass(frozen=True)
class ApprovalLink:
    """What a link lets its holder do."""

    request_id: str
    user: str
    resolution: str
    version: int
    expires: int
    decisions: int = 0  # decisions on the request when the link was made (a quorum's votes do not stale it)
    acting_for: str = ""  # a delegate's link: the absent assignee it decides for (out of office)

    def fits(self, version: int, decisions: int) -> bool:
        """True when the request changed since the link was made only by other people's votes."""
        return version - self.version == decisions - self.decisions >= 0

    @property
    def expires_at(self) -> str:
        """The expiry as ISO 8601."""
        return datetime.fromtimestamp(self.expires).astimezone().isoformat(timespec="seconds")


class LinkRefused(Unauthorized):
    """A link that does not verify or has expired; ``details.reason`` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, {"reason": reason})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Make and check approval links."""

    def __init__(self, client: redis.Redis, secret: str | None = None, base_url: str = "") -> None:
        self._redis = client
        self._secret = secret.encode() if secret else None
        self.base_url = base_url.rstrip("/")

    def _key(self) -> bytes:
        # Not cached when it lives in Redis: every process must see the same secret, also after a flush.
        if self._secret is not None:
            return self._secret
        self._redis.set(SECRET_KEY, secrets.token_urlsafe(48), nx=True)
        stored = self._redis.get(SECRET_KEY)
        return stored if isinstance(stored, bytes) else str(stored).encode()

    def sign(self, link: ApprovalLink, key: bytes | None = None) -> str:
        """The token of a link."""
        fields = [link.request_id, link.user, link.resolution, link.version, link.expires, link.decisions]
        body = _b64(json.dumps(fields + ([link.acting_for] if link.acting_for else []),
                               separators=(",", ":")).encode())
        return f"{body}.{_b64(hmac.new(key or self._key(), body.encode(), hashlib.sha256).digest())}"

    def read(self, token: str) -> ApprovalLink:
        """The link a token stands for, or LinkRefused (tampered, malformed, expired)."""
        body, _, mac = token.partition(".")
        expected = _b64(hmac.new(self._key(), body.encode(), hashlib.sha256).digest())
        if not mac or not hmac.compare_digest(mac, expected):
            raise LinkRefused("bad_link", "This approval link is not valid (it was changed or cut short); "
                              "open the link from the message again")
        try:
            request_id, user, resolution, version, expires, decisions, *acting_for = json.loads(_unb64(body))
            link = ApprovalLink(str(request_id), str(user), str(resolution), int(version), int(expires),
                                int(decisions), str(acting_for[0]) if acting_for else "")
        except (ValueError, TypeError):
            raise LinkRefused("bad_link", "This approval link is not valid") from None
        if link.expires < time.time():
            raise LinkRefused("expired", f"This approval link expired at {link.expires_at}; decide in the app")
        return link

    def claim(self, token: str, link: ApprovalLink) -> bool:
        """Mark a link used; False when it already was (single use)."""
        ttl = max(1, link.expires - int(time.time()) + 60)
        return bool(self._redis.set(self._used_key(token), 1, nx=True, ex=ttl))

    def release(self, token: str) -> None:
        """Let a link be used again (its decision did not go through)."""
        self._redis.delete(self._used_key(token))

    @staticmethod
    def _used_key(token: str) -> str:
        return USED_PREFIX + hashlib.sha256(token.encode()).hexdigest()

    def links_for(self, request: Any, now: float | None = None,
                  delegates: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
        """For each assignee user, a link URL per resolution, bound to the request's current version; and for
        each delegate (``delegates``: delegate -> the absent assignee), links that decide for the absent one."""
        now = time.time() if now is None else now
        expires = now + LINK_LIFETIME
        if request.due_at:
            expires = min(expires, datetime.fromisoformat(request.due_at).timestamp())
        votes, key = len(request.decisions), self._key()
        people = [(user, "") for user in request.users] + list((delegates or {}).items())
        return {user: {res: self.url(ApprovalLink(request.id, user, res, request.version, int(expires), votes,
                                                  absent), key)
                       for res in request.resolutions} for user, absent in people}

    def url(self, link: ApprovalLink, key: bytes | None = None) -> str:
        """Where the link points: the confirmation page."""
        return f"{self.base_url}/approve/{self.sign(link, key)}"


def link_base(settings: Settings) -> str:
    """Where approval links point: ``WORKFLOWS_PUBLIC_URL``, else the API's own address, with this machine's name
    for a wildcard listen address (never ``0.0.0.0``, which no browser can open)."""
    return settings.public_base_url


def link_signer(settings: Settings, client: redis.Redis) -> LinkSigner:
    """The signer for these settings (links point at ``link_base``)."""
    return LinkSigner(client, settings.identity.link_secret, link_base(settings))
