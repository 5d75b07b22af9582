"""Secrets set through the API (``PUT /api/v1/secrets/NAME``), kept in Redis so every API and worker process
sees the same ones, encrypted with the operator's ``WORKFLOWS_SECRETS_ENCRYPTION_KEY`` (Redis, its backups and
its AOF never hold a value in the clear).

Layout: ``wf:secrets`` is a hash, name -> ``<key id>:<base64 nonce + AES-256-GCM ciphertext>``. The AES key is
derived from the operator's key with HKDF-SHA256; the secret's name is the associated data, so a value cannot be
moved to another name. Several keys (comma-separated, the first encrypts) let the key be rotated.

``cryptography`` is imported only where a key is used: 6 MB of every worker and API process that has none."""

from __future__ import annotations

import base64
import hashlib
import os

import redis

from plugin.errors import Conflict
from plugin.secrets import MissingSecret

SECRETS_HASH = "wf:secrets"
WHERE = ("Redis (hash wf:secrets), encrypted with WORKFLOWS_SECRETS_ENCRYPTION_KEY: every API and worker process "
         "connected to it uses the value")


class UnreadableSecret(MissingSecret):
    """A stored secret that none of the configured keys decrypts (the key was changed or dropped)."""

    def __init__(self, name: str) -> None:
        Exception.__init__(self, f"secret {name!r} is stored in Redis under an encryption key that is not in "
                                 "WORKFLOWS_SECRETS_ENCRYPTION_KEY: add that key back, or set the secret again")
        self.name = name


def _aes_key(material: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"workflows-plugin shared secrets v1").derive(material.encode())


class SharedSecrets:
    """Secret values by name in Redis, encrypted; without a key they can be read by nobody and set by nobody."""

    def __init__(self, client: redis.Redis, keys: tuple[str, ...]) -> None:
        self._redis = client
        if keys:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        self._keys = {hashlib.sha256(k).hexdigest()[:8]: AESGCM(k) for k in map(_aes_key, keys)}
        self._current = next(iter(self._keys), None)

    def names(self) -> set[str]:
        """The names stored (never a value)."""
        return {n.decode() if isinstance(n, bytes) else n for n in self._redis.hkeys(SECRETS_HASH)}

    def get(self, name: str) -> str | None:
        """The value, or None when it is not stored; UnreadableSecret when no key decrypts it."""
        token = self._redis.hget(SECRETS_HASH, name)
        if token is None:
            return None
        key_id, _, blob = token.decode().partition(":")
        aead = self._keys.get(key_id)
        if aead is None:
            raise UnreadableSecret(name)
        raw = base64.b64decode(blob)
        from cryptography.exceptions import InvalidTag

        try:
            return aead.decrypt(raw[:12], raw[12:], name.encode()).decode()
        except InvalidTag:
            raise UnreadableSecret(name) from None

    def put(self, name: str, value: str) -> None:
        """Store a value, encrypted with the first key; Conflict (409) when no key is configured."""
        if self._current is None:
            raise Conflict("Secrets set through the API are kept in Redis, encrypted with "
                           "WORKFLOWS_SECRETS_ENCRYPTION_KEY, which this API does not have: set it (the same value on "
                           f"every API and worker process), or set WORKFLOWS_SECRET_{name} on every worker instead",
                           {"secret": name})
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, value.encode(), name.encode())
        self._redis.hset(SECRETS_HASH, name, f"{self._current}:{base64.b64encode(nonce + sealed).decode()}")

    def delete(self, name: str) -> bool:
        """Remove a value; whether it was there."""
        return bool(self._redis.hdel(SECRETS_HASH, name))
