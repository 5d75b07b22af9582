"""Idempotency records for Trigger workflow (the IETF httpapi ``Idempotency-Key`` draft).

The run id of a keyed trigger is derived from the caller and the key, so the same key always lands on the
same Temporal workflow id; Temporal's id policies then make a second start impossible, also across API
restarts or with this record gone. The record (``wf:idem:{digest}``, kept ``RECORD_TTL_SECONDS``) holds the
fingerprint of the first request's body, so a reuse of the key with a different body is refused at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import redis

from plugin.store.inbox import PREFIX

RECORD_TTL_SECONDS = 24 * 3600


def fingerprint(query: str, data: Any) -> str:
    """A stable digest of what was asked: the query and its validated input."""
    canonical = json.dumps({"query": query, "input": data}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def keyed_digest(caller: str, key: str) -> str:
    """A digest of (caller, key): the same key from another caller is another record and another run."""
    return hashlib.sha256(f"{caller}\0{key}".encode()).hexdigest()


@dataclass(frozen=True)
class IdempotencyRecord:
    """What the first request with a key asked for, and the run it made."""

    fingerprint: str
    run_id: str


class IdempotencyRecords:
    """Claim and read idempotency records."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def claim(self, digest: str, record: IdempotencyRecord) -> IdempotencyRecord:
        """Store the record unless one exists; returns the record that holds (the earlier one, if any)."""
        key = f"{PREFIX}idem:{digest}"
        body = json.dumps({"fingerprint": record.fingerprint, "run_id": record.run_id})
        if self._redis.set(key, body, nx=True, ex=RECORD_TTL_SECONDS):
            return record
        raw = self._redis.get(key)
        if raw is None:  # expired between the two calls: this request is the first again
            self._redis.set(key, body, nx=True, ex=RECORD_TTL_SECONDS)
            return record
        data = json.loads(raw)
        return IdempotencyRecord(fingerprint=data["fingerprint"], run_id=data["run_id"])
