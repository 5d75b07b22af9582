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

from plugin.store import scripts
from plugin.store.inbox import PREFIX

RECORD_TTL_SECONDS = 24 * 3600
# Store the record unless one exists; answer the one that holds (nil when this one was stored): one round trip.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""
CLAIM_SCRIPT = _CLAIM  # KEYS[1] = the record, ARGV[1] = its value, ARGV[2] = TTL seconds (also for bulk records)


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
        self._claim = scripts.register(client, _CLAIM)

    def claim(self, digest: str, record: IdempotencyRecord) -> IdempotencyRecord:
        """Store the record unless one exists; returns the record that holds (the earlier one, if any)."""
        body = json.dumps({"fingerprint": record.fingerprint, "run_id": record.run_id})
        held = self._claim(keys=[f"{PREFIX}idem:{digest}"], args=[body, RECORD_TTL_SECONDS])
        if held is None:
            return record
        data = json.loads(held)
        return IdempotencyRecord(fingerprint=data["fingerprint"], run_id=data["run_id"])
