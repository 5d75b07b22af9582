"""Optional payload encryption for Temporal (its data converter's payload codec): AES-GCM, key id in the
payload metadata, several keys for rotation.

``WORKFLOWS_PAYLOAD_KEYS="k2:<base64 key>,k1:<base64 key>"``: the first key encrypts, every listed key
decrypts, so a key is rotated by putting a new one first and dropping the old one once no retained history
needs it. Keys are 16, 24 or 32 random bytes (``python -c "import os,base64;print(base64.b64encode(
os.urandom(32)).decode())"``). The API, the worker and the CLI connect through ``connect_client``, which
uses this codec whenever keys are set, so all of them read and write the same payloads.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from plugin.errors import ConfigError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
NONCE_BYTES = 12


class UnknownKey(ValueError):
    """A payload was encrypted with a key id this process does not have."""


def parse_keys(entries: Iterable[str], setting: str = "WORKFLOWS_PAYLOAD_KEYS") -> list[tuple[str, bytes]]:
    """``id:base64`` entries as (id, key) pairs, in order; ConfigError naming the bad entry (never its key)."""
    keys: list[tuple[str, bytes]] = []
    for entry in entries:
        kid, sep, encoded = entry.strip().partition(":")
        if not sep or not KEY_ID_PATTERN.match(kid):
            raise ConfigError(f"{setting}: each entry is key-id:base64-key (key id of letters, digits, '_.-')")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{setting}: the key of {kid!r} is not valid base64") from None
        if len(key) not in (16, 24, 32):
            raise ConfigError(f"{setting}: the key of {kid!r} must be 16, 24 or 32 bytes, not {len(key)}")
        if any(kid == known for known, _ in keys):
            raise ConfigError(f"{setting}: key id {kid!r} is listed twice")
        keys.append((kid, key))
    return keys


class AesGcmCodec(PayloadCodec):
    """Encrypts every payload with the first key; decrypts with whichever key the payload names."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self.active = keys[0][0]
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only with keys: 6 MB of a process

        self._ciphers = {kid: AESGCM(key) for kid, key in keys}

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, encrypted with the active key (its id bound in as associated data)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active].encrypt(nonce, payload.SerializeToString(), self.active.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: self.active.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """One payload as it was before encryption (payloads that are not encrypted pass unchanged)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnknownKey(f"payload encrypted with key id {kid!r}, which is not configured")
        from cryptography.exceptions import InvalidTag

        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise ValueError(f"payload with key id {kid!r} cannot be decrypted (wrong key or altered)") from None
        return Payload.FromString(plain)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt (Temporal's PayloadCodec)."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt (Temporal's PayloadCodec)."""
        return [self.decrypt(p) for p in payloads]


def codec_for(entries: Iterable[str]) -> AesGcmCodec | None:
    """The codec for the configured key entries, or None when payload encryption is off."""
    keys = parse_keys(entries)
    return AesGcmCodec(keys) if keys else None
