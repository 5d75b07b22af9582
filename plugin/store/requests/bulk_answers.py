"""Idempotency records of bulk decisions: the same Idempotency-Key and body from the same caller get the answer
the first call gave.

Each decision of a bulk call is idempotent on its own (a repeat of the caller's own decision answers 200 without
recording anything), so a repeat without a key is safe too; the record makes a keyed repeat answer exactly what
the first call answered, and refuses the key's reuse with another body. ``wf:bulk:{digest}`` holds
``{"fingerprint", "answer"}`` (``answer`` null while the first call runs), kept ``RECORD_TTL_SECONDS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from plugin.store.idempotency import CLAIM_SCRIPT, RECORD_TTL_SECONDS
from plugin.store.inbox import PREFIX


@dataclass(frozen=True)
class BulkRecord:
    """What the first call with a key asked for (a digest of its body) and, once it finished, its answer."""

    fingerprint: str
    answer: dict[str, Any] | None = None


class BulkAnswers:
    """Claim, read and complete the records of keyed bulk decisions."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._claim = client.register_script(CLAIM_SCRIPT)  # stores the record unless one exists

    @staticmethod
    def _key(digest: str) -> str:
        return f"{PREFIX}bulk:{digest}"

    def claim(self, digest: str, fingerprint: str) -> BulkRecord | None:
        """Record this call's fingerprint unless a record exists; the earlier record, or None when this one was
        stored."""
        held = self._claim(keys=[self._key(digest)],
                           args=[json.dumps({"fingerprint": fingerprint, "answer": None}), RECORD_TTL_SECONDS])
        if held is None:
            return None
        data = json.loads(held)
        return BulkRecord(fingerprint=data["fingerprint"], answer=data.get("answer"))

    def complete(self, digest: str, fingerprint: str, answer: dict[str, Any]) -> None:
        """Keep the finished call's answer for repeats with the same key."""
        self._redis.set(self._key(digest), json.dumps({"fingerprint": fingerprint, "answer": answer}),
                        ex=RECORD_TTL_SECONDS)
