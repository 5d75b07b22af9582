"""API keys: bootstrap keys from the settings, more keys (made through the admin API) stored hashed in Redis.

Layout: ``wf:key:{sha256}`` -> ``{"id", "until"}`` (one per valid secret: the current one, and an old one
during a rotation's grace period, which Redis also expires); ``wf:keyrec:{id}`` -> the key's record (name,
scope, identity settings...); ``wf:keys`` -> the set of ids; ``wf:keyused:{id}`` -> when it was last used.
Nothing is cached per process, so a revoke stops the key on every API process at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import redis

from plugin.config import Settings
from plugin.errors import Unauthorized, ValidationFailed
from plugin.identity.capabilities import CAPABILITIES, default_capabilities
from plugin.identity.config import KeyIdentity, TokenConfig, key_identity
from plugin.store import scripts
from plugin.store.admin.runtime_settings import RuntimeSettings
from plugin.store.events import KEY_REVOKED, EventStream

log = logging.getLogger(__name__)
SCOPES = ("admin", "app", "webhook")
# KEYS[1] = wf:key:{digest}; ARGV = the record and last-use key prefixes. A presented key's entry and, when it names
# a key id, that key's record and last use, read in one round trip (and at one moment: a revoke deletes them in
# one transaction). Answers false, {entry}, or {entry, record or false, last use or false}.
_LOOKUP = """
local entry = redis.call('GET', KEYS[1])
if not entry then return false end
local ok, decoded = pcall(cjson.decode, entry)
if not ok or type(decoded) ~= 'table' or type(decoded['id']) ~= 'string' then return {entry} end
return {entry, redis.call('GET', ARGV[1] .. decoded['id']), redis.call('GET', ARGV[2] .. decoded['id'])}
"""
LAST_USED_EVERY = 60.0  # seconds between two writes of a key's last use, per process


@dataclass(frozen=True)
class ApiKey:
    """What a presented key grants, and which identity sources it accepts."""

    name: str
    scope: str
    query: str | None = None
    id: str = ""
    identity: KeyIdentity = field(default_factory=KeyIdentity)
    capabilities: tuple[str, ...] = ()
    expires_at: float | None = None  # epoch seconds; None: never

    @property
    def bootstrap(self) -> bool:
        """True for the keys from the settings (WORKFLOWS_ADMIN_KEY / WORKFLOWS_APP_KEY)."""
        return not self.id


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(scope: str) -> str:
    """A fresh random key; its prefix tells its scope at a glance."""
    return f"wfp_{scope}_{secrets.token_urlsafe(24)}"


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _with_last_use(raw: bytes | None, used: bytes | str | None) -> dict[str, Any] | None:
    """A stored key record with its last use, or None when there is no record."""
    if not raw:
        return None
    record = json.loads(raw)
    record["last_used_at"] = used.decode() if isinstance(used, bytes) else used
    return record


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


class KeyStore:
    """Look up, create, rotate and revoke keys. Settings keys never depend on Redis, so a flushed Redis locks
    nobody out."""

    def __init__(self, settings: Settings, client: redis.Redis, runtime: RuntimeSettings | None = None) -> None:
        app_identity = settings.identity.app_key
        grants = {"admin": ApiKey(name="admin", scope="admin", capabilities=CAPABILITIES),
                  "app": ApiKey(name="app", scope="app", identity=app_identity,
                                capabilities=settings.identity.app_capabilities)}
        self._bootstrap = [(hash_key(k), grants[scope])
                           for scope, k in (("admin", settings.admin_key), ("app", settings.app_key)) if k]
        self._env_oidc = settings.identity.oidc
        self._runtime = runtime
        self._redis = client
        self._lookup = scripts.register(client, _LOOKUP)
        self._used: dict[str, float] = {}

    @property
    def bootstrap_keys(self) -> list[ApiKey]:
        """The keys from the settings (for start-up warnings)."""
        return [grant for _, grant in self._bootstrap]

    def lookup(self, presented: str) -> ApiKey | None:
        """The key's grant, or None when it is unknown, revoked, expired or past its rotation grace."""
        digest = hash_key(presented)
        for known, grant in self._bootstrap:
            if hmac.compare_digest(known, digest):
                if grant.identity.oidc is not None and self._runtime is not None:
                    # the bootstrap app key follows the identity defaults changed on the settings page
                    return replace(grant, identity=replace(grant.identity, oidc=self.default_oidc))
                return grant
        found = self._lookup(keys=[f"wf:key:{digest}"], args=["wf:keyrec:", "wf:keyused:"])
        if not found:
            return None
        entry = json.loads(found[0])
        if "scope" in entry:  # a key written before key records existed
            return ApiKey(name=entry["name"], scope=entry["scope"], query=entry.get("query"),
                          capabilities=default_capabilities(entry["scope"], KeyIdentity()))
        if entry.get("until") is not None and entry["until"] < time.time():
            return None
        record = _with_last_use(found[1], found[2]) if len(found) == 3 else self.record(entry["id"], with_secret=True)
        if record is None or (record.get("expires_at") and _epoch(record["expires_at"]) < time.time()):
            return None
        self._touch(entry["id"])
        return self._grant(record)

    def _grant(self, record: dict[str, Any]) -> ApiKey:
        try:
            identity = key_identity(record.get("identity"), self.default_oidc)
        except ValidationFailed:  # e.g. it relied on WORKFLOWS_OIDC_* settings that are gone
            log.warning("key %s has incomplete identity settings", record["id"])
            raise Unauthorized("This key's identity settings are incomplete (the global OIDC settings it relies "
                               "on are not set); an admin must fix the key", {"reason": "key_misconfigured"}) from None
        stored = record.get("capabilities")  # keys made before capabilities: the defaults of their identity
        capabilities = tuple(stored) if stored is not None else default_capabilities(record["scope"], identity)
        return ApiKey(name=record["name"], scope=record["scope"], query=record.get("query"), id=record["id"],
                      identity=identity, capabilities=capabilities, expires_at=_epoch(record.get("expires_at")))

    @property
    def default_oidc(self) -> TokenConfig | None:
        """The OIDC settings of keys that accept user tokens without their own: runtime, else environment."""
        return (self._runtime.current().oidc if self._runtime is not None else None) or self._env_oidc

    def _touch(self, key_id: str) -> None:
        now = time.monotonic()
        if now - self._used.get(key_id, -LAST_USED_EVERY) >= LAST_USED_EVERY:
            self._used[key_id] = now
            self._redis.set(f"wf:keyused:{key_id}", now_iso())

    def record(self, key_id: str, with_secret: bool = False) -> dict[str, Any] | None:
        """A stored key's record (without the host signature secret unless asked), with its last use."""
        record = _with_last_use(*self._redis.mget(f"wf:keyrec:{key_id}", f"wf:keyused:{key_id}"))
        if record is None:
            return None
        return record if with_secret else self.record_view(record)

    def records(self, key_ids: list[str]) -> list[dict[str, Any] | None]:
        """The stored records of these keys (None for a missing one), in one round trip, as stored (with the
        digests: for checks, never to show)."""
        raws = self._redis.mget([f"wf:keyrec:{k}" for k in key_ids]) if key_ids else []
        return [json.loads(raw) if raw else None for raw in raws]

    def all(self) -> list[dict[str, Any]]:
        """Every stored key's record, newest first (never a secret)."""
        ids = sorted(m.decode() if isinstance(m, bytes) else m for m in self._redis.smembers("wf:keys"))
        records = [r for r in (self.record(i) for i in ids) if r is not None]
        return sorted(records, key=lambda r: r["created_at"], reverse=True)

    def create(self, name: str, scope: str, identity: dict[str, Any], created_by: str,
               expires_at: str | None = None, query: str | None = None,
               capabilities: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
        """Store a new key; returns its record and the secret (shown once, stored only hashed)."""
        key_id = uuid.uuid4().hex[:16]
        secret = new_key(scope)
        record = {"id": key_id, "name": name, "scope": scope, "query": query, "prefix": secret[:12],
                  "created_at": now_iso(), "created_by": created_by, "expires_at": expires_at,
                  "rotated_at": None, "digest": hash_key(secret), "identity": identity,
                  "capabilities": list(capabilities)}
        with self._redis.pipeline() as pipe:
            pipe.set(f"wf:keyrec:{key_id}", json.dumps(record))
            pipe.set(f"wf:key:{record['digest']}", json.dumps({"id": key_id, "until": None}))
            pipe.sadd("wf:keys", key_id)
            pipe.execute()
        return self.record(key_id) or record, secret

    @contextmanager
    def _locked(self, key_id: str) -> Iterator[None]:
        """Changes to one key go one at a time (a revoke racing a rotate must not bring the key back)."""
        with self._redis.lock(f"wf:keylock:{key_id}", timeout=10, blocking_timeout=10):
            yield

    def update(self, key_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        """Change a key's name, expiry or identity settings; None when there is no such key."""
        with self._locked(key_id):
            return self._update(key_id, changes)

    def _update(self, key_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        record = self.record(key_id, with_secret=True)
        if record is None:
            return None
        record.update(changes)
        record.pop("last_used_at", None)
        self._redis.set(f"wf:keyrec:{key_id}", json.dumps(record))
        return self.record(key_id)

    def rotate(self, key_id: str, grace_seconds: int) -> tuple[dict[str, Any], str] | None:
        """A new secret; the old one keeps working for ``grace_seconds`` (0: stops at once)."""
        with self._locked(key_id):
            return self._rotate(key_id, grace_seconds)

    def _rotate(self, key_id: str, grace_seconds: int) -> tuple[dict[str, Any], str] | None:
        record = self.record(key_id, with_secret=True)
        if record is None:
            return None
        secret = new_key(record["scope"])
        old = record["digest"]
        record.update(digest=hash_key(secret), prefix=secret[:12], rotated_at=now_iso(),
                      previous_digests=[*record.get("previous_digests", [])[-4:], old] if grace_seconds > 0 else [])
        record.pop("last_used_at", None)
        with self._redis.pipeline() as pipe:
            pipe.set(f"wf:keyrec:{key_id}", json.dumps(record))
            pipe.set(f"wf:key:{record['digest']}", json.dumps({"id": key_id, "until": None}))
            if grace_seconds > 0:
                pipe.set(f"wf:key:{old}", json.dumps({"id": key_id, "until": time.time() + grace_seconds}),
                         ex=grace_seconds + 1)
            else:
                pipe.delete(f"wf:key:{old}")
            pipe.execute()
        return self.record(key_id) or record, secret

    def revoke(self, key_id: str) -> dict[str, Any] | None:
        """Remove a key and every secret of it, at once; returns what it was."""
        with self._locked(key_id):
            return self._revoke(key_id)

    def _revoke(self, key_id: str) -> dict[str, Any] | None:
        record = self.record(key_id, with_secret=True)
        if record is None:
            return None
        digests = [f"wf:key:{d}" for d in (record["digest"], *record.get("previous_digests", []))]
        with self._redis.pipeline() as pipe:
            pipe.delete(f"wf:keyrec:{key_id}", f"wf:keyused:{key_id}", *digests)
            pipe.srem("wf:keys", key_id)
            pipe.execute()
        # Open event streams of this key end on this event, before any event written after the revoke.
        EventStream(self._redis).publish(KEY_REVOKED, {"key_id": key_id}, [], [])
        return self.record_view(record)

    def record_view(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as shown (no secret)."""
        shown = {k: v for k, v in record.items() if k not in ("digest", "previous_digests")}
        shown["identity"] = {k: v for k, v in (record.get("identity") or {}).items() if k != "signature_secret"}
        shown["identity"]["has_signature_secret"] = bool((record.get("identity") or {}).get("signature_secret"))
        if shown.get("capabilities") is None:  # a key made before capabilities: what it is granted
            try:
                shown["capabilities"] = list(default_capabilities(record["scope"], key_identity(
                    record.get("identity"), self.default_oidc)))
            except ValidationFailed:
                shown["capabilities"] = []
        return shown
