"""The answer to ``GET /runs/{id}`` as encoded JSON: a snapshot whose stored bytes were seen before is answered
from the bytes encoded then, without parsing, composing or dumping it again; always with an ETag (304 when the
caller already has it).

The encoded answers are kept per app and process, keyed by a digest of everything the answer is made from
(the run's stored document, its retries and its requests' inbox documents), so a changed snapshot is a new key
and can never be answered from an old one. Freshness (an open run's snapshot is trusted for a few seconds) is
checked on every read from the stored write time, as before.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, current_app, has_app_context
from limits.storage import RedisStorage

from plugin import metrics
from plugin.api.http import abuse_limits, rate_limits
from plugin.api.http.auth import current_identity
from plugin.api.http.conditional import etag_of, json_answer
from plugin.api.runs.schemas import RunSchema
from plugin.api.services import per_app, services
from plugin.errors import NotFound
from plugin.models import Identity
from plugin.readmodel.runs import may_see_run, unsettled
from plugin.store import scripts
from plugin.store.snapshots import READ_FUNCTION, RawSnapshot, RunSnapshots, trusted

log = logging.getLogger(__name__)
CACHE_SIZE = 1024  # encoded answers kept per process (a few KB each); the whole cache is dropped when full
_RUN_SCHEMA = RunSchema()
# Admit the request (abuse limits) and read the run's snapshot in one script. KEYS: the snapshot's 3, then the
# admission's; ARGV: the snapshot's 1, then the admission's. Answers {1, index, ttl} when refused (nothing read),
# else {0, what read_snapshot answers...} ({0} without a snapshot).
_ADMIT_AND_READ = rate_limits.ADMIT_FUNCTION + READ_FUNCTION + """
local refused = admit(3, 1)
if refused then return {1, refused[1], refused[2]} end
local snap = read_snapshot()
if not snap then return {0} end
table.insert(snap, 1, 0)
return snap
"""


@dataclass(frozen=True)
class EncodedRun:
    """A run's answer as bytes, with what freshness and visibility checks need."""

    body: bytes
    etag: str
    stored_status: str  # the status in the snapshot doc (decides how long it is trusted)
    audience: dict[str, Any]  # started_by and the requests' users and groups (for may_see_run)
    unsettled: bool = False  # an ended run still listing a pending request: Temporal must be asked

    def visible_to(self, who: Identity) -> bool:
        """Whether the caller may see the run."""
        return may_see_run(self.audience, who)


def encode(run: dict[str, Any], stored_status: str) -> EncodedRun:
    """The composed run, dumped and encoded exactly as the view's schema and Flask's JSON would answer it."""
    body = current_app.json.response(_RUN_SCHEMA.dump(run)).get_data()
    audience = {"started_by": run.get("started_by"),
                "requests": [{"users": r["users"], "groups": r["groups"]} for r in run["requests"]]}
    return EncodedRun(body=body, etag=etag_of(body), stored_status=stored_status, audience=audience,
                      unsettled=unsettled(run))


def _cache(app: Flask) -> dict[bytes, EncodedRun]:
    return app.extensions.setdefault("workflows.encoded_runs", {})


def _digest(raw: RawSnapshot) -> bytes:
    h = hashlib.blake2b(raw.doc, digest_size=20)
    for retry in raw.retries:
        h.update(b"\0r" + retry.encode())
    for request_id, body in raw.requests:
        h.update(b"\0q" + request_id.encode() + b"\0" + body)
    return h.digest()


def _admit_and_read(run_id: str, admission: rate_limits.Admission | None) -> RawSnapshot | None:
    """Admit the request when the view must (429 when over a limit; a Redis error answers 503, as an admission
    at authentication does) and read the run's stored snapshot (None when there is none or it cannot be read):
    one Redis call when the counters live in the same Redis as the snapshots."""
    storage = rate_limits.join_or_admit(admission)
    if storage is None:
        try:
            return services().runs.snapshots.get_raw(run_id)
        except redis.RedisError as exc:
            metrics.REDIS_ERRORS.labels("snapshot_read").inc()
            log.warning("snapshot read of %s failed, asking Temporal: %s", run_id, exc)
            return None
    refused, raw = admit_and_read(current_app, run_id, admission, storage)  # type: ignore[arg-type]
    if refused is not None:
        raise refused
    return raw


def admit_and_read(app: Flask, run_id: str, admission: rate_limits.Admission,
                   storage: RedisStorage) -> tuple[rate_limits.RateLimited | None, RawSnapshot | None]:
    """In one Redis call, admit the request (the counters in ``storage``, the Redis of the snapshots) and read the
    run's stored snapshot: (the refusal, None) when it is over a limit, else (None, the snapshot or None). Raises
    a Redis error (the request may not have been admitted)."""
    svc = app.extensions["workflows"]
    keys, args = svc.runs.snapshots.read_keys_and_args(run_id)
    admit_keys, admit_args = admission.keys_and_args(storage)
    answer = _script(app)(keys=[*keys, *admit_keys], args=[*args, *admit_args])
    if answer[0] == 1:
        try:
            admission.settle(answer[1:])
        except rate_limits.RateLimited as refused:
            return refused, None
    return None, RunSnapshots.parse_raw(answer[1:])


def _script(app: Flask) -> Any:
    return per_app("admit_and_read", lambda client: scripts.register(client, _ADMIT_AND_READ), app)


def from_snapshot(app: Flask, raw: RawSnapshot | None) -> EncodedRun | None:
    """The encoded answer from a complete, trusted snapshot; None when Temporal must be asked."""
    if raw is None or not raw.complete:
        return None
    cache, key = _cache(app), _digest(raw)
    encoded = cache.get(key)
    if encoded is None:
        snap = raw.decoded()
        requests = [r for r in snap.requests.values() if r is not None]
        in_app = has_app_context() and current_app._get_current_object() is app  # type: ignore[attr-defined]
        with nullcontext() if in_app else app.app_context():  # the fast reads' first answer of a snapshot
            encoded = encode(services().runs.compose(snap.doc, requests, snap.retries), snap.doc["status"])
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[key] = encoded
    return encoded if trusted(encoded.stored_status, raw.written_ms) and not encoded.unsettled else None


def run_answer(run_id: str) -> Response:
    """``GET /runs/{id}``: the run if the caller may see it (NotFound otherwise), with its ETag.

    The request is admitted (abuse limits) in the same Redis call that reads the run's snapshot, before the
    caller's identity is required and before Temporal is asked."""
    raw = _admit_and_read(run_id, abuse_limits.take_admission())
    who = current_identity(required=True)
    encoded = from_snapshot(current_app, raw)
    if encoded is None:
        run = services().runs.refresh(run_id)
        encoded = encode(run, run["status"])
    if not encoded.visible_to(who):
        raise NotFound(f"Run {run_id} not found")
    return json_answer(encoded.body, encoded.etag)
