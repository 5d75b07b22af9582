"""Secrets that connections refer to by name: ``{"$secret": "NAME"}``, never a value in a workspace file.

A secret's value comes from the environment variable ``WORKFLOWS_SECRET_<NAME>``, else from Redis (set through
the admin API, encrypted: plugin/store/admin/shared_secrets.py, shared by every process), else from ``secrets.json`` in
the data dir (mode 0600; one process only, kept for data dirs written before secrets moved to Redis). Values are
resolved only where they are used (in an activity, or a connection test), never read back through the API.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

SECRET_KEY = "$secret"
ENV_PREFIX = "WORKFLOWS_SECRET_"
SECRETS_FILE = "secrets.json"
SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MAX_SECRET_CHARS = 16 * 1024
MASK = "***"


class MissingSecret(Exception):
    """A connection refers to a secret that is set nowhere; the message names the secret."""

    def __init__(self, name: str) -> None:
        super().__init__(f"secret {name!r} is not set: set {ENV_PREFIX}{name} or add it through "
                         f"PUT /api/v1/secrets/{name}")
        self.name = name


def is_reference(value: Any) -> bool:
    """Whether a value is a secret reference ``{"$secret": "NAME"}``."""
    return isinstance(value, dict) and set(value) == {SECRET_KEY}


def references(value: Any) -> set[str]:
    """Every secret name referred to inside a JSON value."""
    if is_reference(value):
        return {str(value[SECRET_KEY])}
    if isinstance(value, dict):
        return set().union(*(references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    return set()


class SharedStore(Protocol):
    """Where secrets set through the API live for every process (plugin.store.admin.shared_secrets.SharedSecrets)."""

    def names(self) -> set[str]: ...
    def get(self, name: str) -> str | None: ...
    def put(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> bool: ...


class SecretStore:
    """Secret values by name: the environment first, then the shared store (Redis), then the data dir's file."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str] | None = None,
                 shared: SharedStore | None = None) -> None:
        self.path = Path(data_dir) / SECRETS_FILE
        self._environ = os.environ if environ is None else environ
        self.shared = shared

    def _file(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def source(self, name: str) -> str | None:
        """Where a secret is set (``env``, ``redis`` or ``file``), or None when it is not set."""
        return self.names().get(name)

    def get(self, name: str) -> str:
        """The secret's value; MissingSecret when it is set nowhere."""
        value = self._environ.get(ENV_PREFIX + name) or (self.shared.get(name) if self.shared else None) or (
            self._file().get(name))
        if not value:
            raise MissingSecret(name)
        return value

    def names(self) -> dict[str, str]:
        """Every secret that is set, name -> source (never the value)."""
        found = {name: "file" for name in self._file()}
        found.update({name: "redis" for name in (self.shared.names() if self.shared else ())})
        found.update({k[len(ENV_PREFIX):]: "env" for k, v in self._environ.items()
                      if k.startswith(ENV_PREFIX) and v and SECRET_NAME.match(k[len(ENV_PREFIX):])})
        return dict(sorted(found.items()))

    @contextmanager
    def _locked(self) -> Iterator[dict[str, str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._file()
            yield data
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(data, out)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)

    def put(self, name: str, value: str) -> None:
        """Set a secret in the shared store (else the file); an environment variable of the same name still wins."""
        if self.shared is not None:
            self.shared.put(name, value)
            return
        with self._locked() as data:
            data[name] = value

    def delete(self, name: str) -> bool:
        """Remove a secret from the shared store and the file; whether it was in either."""
        removed = bool(self.shared and self.shared.delete(name))
        if not self.path.exists():
            return removed
        with self._locked() as data:
            return data.pop(name, None) is not None or removed


def resolve(value: Any, store: SecretStore, used: set[str] | None = None) -> Any:
    """A JSON value with every secret reference replaced by its value (``used`` collects the values)."""
    if is_reference(value):
        secret = store.get(str(value[SECRET_KEY]))
        if used is not None:
            used.add(secret)
        return secret
    if isinstance(value, dict):
        return {k: resolve(v, store, used) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, store, used) for v in value]
    return value


MIN_ENCODED_CHARS = 8  # a shorter encoded fragment could mask ordinary text


def _base64_cores(raw: bytes) -> Iterator[str]:
    """The base64 text (standard and URL-safe alphabets) that ``raw`` turns into wherever it sits in a longer
    encoded value: for each of the three byte offsets, the characters that depend on ``raw`` alone."""
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = 4 if offset else 0  # the first group mixes in the bytes before
        end = 4 * ((offset + len(raw)) // 3)  # the last partial group mixes in the bytes after
        core = encoded[start:end]
        if offset == 0 and len(raw) % 3 == 0:
            core = encoded
        for text in (core, core.replace("+", "-").replace("/", "_")):
            if len(text) >= MIN_ENCODED_CHARS:
                yield text
    plain = base64.b64encode(raw).decode()  # the secret encoded on its own, padding and all
    yield from (plain, plain.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="))


def encoded_forms(secret: str) -> set[str]:
    """The secret as an API might echo it: URL-encoded (either case of hex, ``+`` for spaces) and base64."""
    forms = {secret}
    for quoted in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms |= {quoted, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quoted)}
    forms |= set(_base64_cores(secret.encode()))
    return {f for f in forms if f == secret or len(f) >= MIN_ENCODED_CHARS}


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON value (or text) with every occurrence of a secret value masked, for anything that leaves an
    activity: outputs, error messages and details. URL-encoded and base64 forms are masked too (an API that
    quotes a credential back may encode it)."""
    values = sorted({form for s in secrets if s for form in encoded_forms(s)}, key=len, reverse=True)
    if not values:
        return value
    if isinstance(value, str):
        for secret in values:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {scrub(k, values): scrub(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, values) for v in value]
    return value
