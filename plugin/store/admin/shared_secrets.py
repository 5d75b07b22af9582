"""Secrets set through the API (``PUT /api/v1/secrets/NAME``), kept in Redis so every API and worker process
sees the same ones, encrypted with the operator's ``WORKFLOWS_SECRETS_ENCRYPTION_KEY`` (Redis, its backups and
its AOF never hold a value in the clear).

Layout: ``wf:secrets`` is a hash, name -> ``<key id>:<base64 nonce + AES-256-GCM ciphertext>``. The AES key is
derived from the operator's key with HKDF-SHA256; the secret's name is the associated data, so a value cannot be
moved to another name. Several keys (comma-separated, the first encrypts) let the key be rotated.

``cryptography`` (7 MB of a process) is imported only when a value is read or written: the HKDF that derives the
AES keys (and so the key ids) is RFC 5869's, written here with ``hmac`` (``tests/test_shared_secrets_kdf.py`` holds it
equal to cryptography's), so a process that has keys but never touches a secret does not load it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

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


_INFO = b"workflows-plugin shared secrets v1"


def _aes_key(material: str) -> bytes:
    """HKDF-SHA256 (RFC 5869) of the operator's key: no salt (a hash's length of zeros), 32 bytes, ``_INFO``.
    32 bytes is one SHA-256 block, so the expand step is a single HMAC."""
    prk = hmac.new(bytes(hashlib.sha256().digest_size), material.encode(), hashlib.sha256).digest()
    return hmac.new(prk, _INFO + b"\x01", hashlib.sha256).digest()


class SharedSecrets:
    """Secret values by name in Redis, encrypted; without a key they can be read by nobody and set by nobody."""

    def __init__(self, client: redis.Redis, keys: tuple[str, ...]) -> None:
        self._redis = client
        self._keys = {hashlib.sha256(k).hexdigest()[:8]: k for k in map(_aes_key, keys)}
        self._current = next(iter(self._keys), None)
        self._ciphers: dict[str, Any] = {}  # key id -> AESGCM, made at first use

    def _cipher(self, key_id: str) -> Any:
        """The AES-GCM cipher of a configured key (``cryptography`` is imported here, at the first value)."""
        if key_id not in self._ciphers:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._ciphers[key_id] = AESGCM(self._keys[key_id])
        return self._ciphers[key_id]

    def names(self) -> set[str]:
        """The names stored (never a value)."""
        return {n.decode() if isinstance(n, bytes) else n for n in self._redis.hkeys(SECRETS_HASH)}

    def get(self, name: str) -> str | None:
        """The value, or None when it is not stored; UnreadableSecret when no key decrypts it."""
        token = self._redis.hget(SECRETS_HASH, name)
        if token is None:
            return None
        key_id, _, blob = token.decode().partition(":")
        if key_id not in self._keys:
            raise UnreadableSecret(name)
        aead = self._cipher(key_id)
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
        sealed = self._cipher(self._current).encrypt(nonce, value.encode(), name.encode())
        self._redis.hset(SECRETS_HASH, name, f"{self._current}:{base64.b64encode(nonce + sealed).decode()}")

    def delete(self, name: str) -> bool:
        """Remove a value; whether it was there."""
        return bool(self._redis.hdel(SECRETS_HASH, name))
