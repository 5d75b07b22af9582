"""Named connections of a workspace: HTTP APIs and SQL databases that steps use by name.

Declared in ``workspace.json`` under ``connections`` or in the folder's ``connections.json`` (an object of
name -> connection). Secrets are references (``{"$secret": "NAME"}``), never values::

    "rates": {"kind": "http", "base_url": "https://api.example.com/v1", "headers": {"Accept": "..."},
              "auth": {"type": "bearer", "token": {"$secret": "RATES_TOKEN"}}, "timeout": "10s"}
    "ledger": {"kind": "sql", "url": {"$secret": "LEDGER_DB_URL"}, "read_only": true,
               "statement_timeout": "5s", "max_rows": 1000, "pool_size": 5}

Auth types: ``bearer`` (token), ``basic`` (username, password), ``api_key`` (header, value) and
``oauth2_client_credentials`` (token_url, client_id, client_secret, scope, audience). Fields that hold a
credential must be secret references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin.engine.calls.connection_types import Connection
from plugin.engine.interpreter.spec import RETRY_FIELDS, STEP_ID, duration_seconds
from plugin.engine.interpreter.validate import Problem
from plugin.errors import ConfigError
from plugin.secrets import SECRET_KEY, SECRET_NAME, is_reference

CONNECTIONS_FILE = "connections.json"
KINDS = ("http", "sql")
COMMON = {"kind", "description"}
HTTP_FIELDS = COMMON | {"base_url", "headers", "auth", "timeout", "retry"}
SQL_FIELDS = COMMON | {"url", "read_only", "statement_timeout", "max_rows", "pool_size", "pool_timeout", "retry"}
# auth type -> (required fields, optional fields, fields that must be secret references)
AUTH_TYPES: dict[str, tuple[set[str], set[str], set[str]]] = {
    "bearer": ({"token"}, set(), {"token"}),
    "basic": ({"username", "password"}, set(), {"password"}),
    "api_key": ({"header", "value"}, set(), {"value"}),
    "oauth2_client_credentials": ({"token_url", "client_id", "client_secret"}, {"scope", "audience"},
                                  {"client_secret"}),
}
MAX_ROWS_LIMIT = 100_000


@dataclass
class _Checker:
    source: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, name: str, where: str, message: str) -> None:
        self.problems.append(Problem(self.source, "", where, message, connection=name))

    def text(self, name: str, where: str, value: Any, secret: str = "allowed") -> None:
        """A string, or a secret reference (``secret``: allowed, required or refused)."""
        if is_reference(value):
            if secret == "refused":
                self.add(name, where, "may not be a secret reference")
            elif not isinstance(value[SECRET_KEY], str) or not SECRET_NAME.match(value[SECRET_KEY]):
                self.add(name, where, "a secret name is upper-case letters, digits and _ (e.g. RATES_TOKEN)")
        elif secret == "required":
            self.add(name, where, 'must be a secret reference {"$secret": "NAME"}, never the value itself')
        elif not isinstance(value, str) or not value:
            self.add(name, where, "must be a non-empty string" + (
                ' or a secret reference {"$secret": "NAME"}' if secret == "allowed" else ""))

    def number(self, name: str, key: str, spec: dict[str, Any], low: int, high: int, prefix: str = "") -> None:
        value = spec.get(key, low)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.add(name, prefix + key, f"must be a whole number from {low} to {high}")

    def retry(self, name: str, spec: dict[str, Any], kind: str) -> None:
        """The connection's default ``retry`` for the steps that use it (a step's own ``retry`` wins)."""
        retry = spec.get("retry", {})
        if not isinstance(retry, dict) or set(retry) - RETRY_FIELDS:
            self.add(name, "retry", f"must be an object with fields from {sorted(RETRY_FIELDS)}")
            return
        self.number(name, "max_attempts", retry, 1, 100, "retry.")
        for key in ("initial_interval", "max_interval"):
            self.duration(name, key, retry, "retry.")
        backoff = retry.get("backoff", 2)
        if not isinstance(backoff, int | float) or isinstance(backoff, bool) or not 1 <= backoff <= 10:
            self.add(name, "retry.backoff", "must be a number from 1 to 10")
        codes = retry.get("retry_on_status", [])
        if kind != "http" and "retry_on_status" in retry:
            self.add(name, "retry.retry_on_status", "only an http connection retries on status codes")
        elif not isinstance(codes, list) or not all(isinstance(v, int) and 100 <= v <= 599 for v in codes):
            self.add(name, "retry.retry_on_status", "must be a list of HTTP status codes (100-599)")

    def duration(self, name: str, key: str, spec: dict[str, Any], prefix: str = "") -> None:
        if key not in spec:
            return
        try:
            if duration_seconds(spec[key]) <= 0:
                self.add(name, prefix + key, "must be more than zero")
        except ValueError as exc:
            self.add(name, prefix + key, str(exc))


def _check_http(c: _Checker, name: str, spec: dict[str, Any]) -> None:
    base = spec.get("base_url")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")) or "{{" in base:
        c.add(name, "base_url", "needs an http:// or https:// URL (no templates)")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict):
        c.add(name, "headers", "must be an object of name -> value")
    else:
        for key, value in headers.items():
            c.text(name, f"headers.{key}", value)
    c.duration(name, "timeout", spec)
    auth = spec.get("auth")
    if auth is None:
        return
    kind = auth.get("type") if isinstance(auth, dict) else None
    if kind not in AUTH_TYPES:
        c.add(name, "auth.type", f"must be one of {sorted(AUTH_TYPES)}")
        return
    required, optional, secret = AUTH_TYPES[kind]
    for key in sorted(set(auth) - required - optional - {"type"}):
        c.add(name, f"auth.{key}", f"unknown field for {kind} auth; allowed: {sorted(required | optional)}")
    for key in sorted(required | optional):
        if key in auth:
            c.text(name, f"auth.{key}", auth[key], "required" if key in secret else
                   ("refused" if key in ("header", "token_url") else "allowed"))
        elif key in required:
            c.add(name, f"auth.{key}", f"{kind} auth needs {key!r}")
    url = auth.get("token_url")
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        c.add(name, "auth.token_url", "must be an http:// or https:// URL")


# SQLAlchemy's own URL pattern (``sqlalchemy.engine.url._parse_url``; tests/test_sql_bind_params.py holds them
# equal): connections are checked without importing SQLAlchemy, which a worker then loads only when a sql step runs
# (11 MB of its memory otherwise).
SQL_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
        """,
    re.X,
)


def _check_sql(c: _Checker, name: str, spec: dict[str, Any]) -> None:
    url = spec.get("url")
    c.text(name, "url", url)
    if isinstance(url, str) and url:
        parsed = SQL_URL.match(url)
        if parsed is None:
            c.add(name, "url", "is not a SQLAlchemy URL (e.g. sqlite:///path/app.db, postgresql+psycopg://...)")
        else:
            if parsed["port"] is not None:
                int(parsed["port"])  # a ValueError when it is not a number, as SQLAlchemy's make_url raises
            if parsed["password"]:
                c.add(name, "url", 'holds a password: make the whole URL a secret {"$secret": "NAME"}')
    if "read_only" in spec and not isinstance(spec["read_only"], bool):
        c.add(name, "read_only", "must be true or false")
    c.duration(name, "statement_timeout", spec)
    c.duration(name, "pool_timeout", spec)
    c.number(name, "max_rows", spec, 1, MAX_ROWS_LIMIT)
    c.number(name, "pool_size", spec, 1, 100)


def check_connections(raw: Any, source: str) -> tuple[dict[str, Connection], list[Problem]]:
    """The valid connections of one declaration (name -> spec) and every problem, each naming the
    connection and its field."""
    c = _Checker(source)
    if not isinstance(raw, dict):
        where = "" if Path(source).name == CONNECTIONS_FILE else "connections"
        return {}, [Problem(source, "", where, "must be an object of name -> connection")]
    found: dict[str, Connection] = {}
    for name, spec in raw.items():
        before = len(c.problems)
        if not STEP_ID.match(name):
            c.add(name, "name", "must be letters, digits and _ (not starting with a digit)")
        if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
            c.add(name, "kind", f"must be one of {list(KINDS)}")
            continue
        if not isinstance(spec.get("description", ""), str):
            c.add(name, "description", "must be a string")
        allowed = HTTP_FIELDS if spec["kind"] == "http" else SQL_FIELDS
        for key in sorted(set(spec) - allowed):
            c.add(name, key, f"unknown field for a {spec['kind']} connection; allowed: {sorted(allowed)}")
        (_check_http if spec["kind"] == "http" else _check_sql)(c, name, spec)
        c.retry(name, spec, spec["kind"])
        if len(c.problems) == before:
            found[name] = Connection(name=name, kind=spec["kind"], settings=spec, source=source)
    return found, c.problems


def _declared(folder: Path) -> tuple[list[tuple[str, Any]], list[Problem]]:
    """(source, raw connections) pairs of a folder: workspace.json's key and connections.json; and the
    problem of a connections.json that is there but cannot be read."""
    out: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    for path, key in ((folder / "workspace.json", "connections"), (folder / CONNECTIONS_FILE, None)):
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            continue  # connections.json is optional; a missing workspace.json is reported by the loader
        except (OSError, ValueError) as exc:
            if key is None:  # an unreadable workspace.json is reported by the loader
                message = (f"not valid JSON ({exc.msg} at line {exc.lineno})" if isinstance(exc, json.JSONDecodeError)
                           else f"cannot be read: {exc}")
                problems.append(Problem(str(path), "", "", message))
            continue
        if key is None:
            out.append((str(path), data))
        elif isinstance(data, dict) and key in data:
            out.append((str(path), data[key]))
    return out, problems


def find_connections(folders: Iterable[Path]) -> tuple[dict[str, Connection], list[Problem]]:
    """Every valid connection of the folders, and every problem (a name declared twice is one)."""
    found: dict[str, Connection] = {}
    problems: list[Problem] = []
    for folder in folders:
        declared, unreadable = _declared(Path(folder))
        problems += unreadable
        for source, raw in declared:
            valid, bad = check_connections(raw, source)
            problems += bad
            for name, conn in valid.items():
                if name in found:
                    problems.append(Problem(source, "", "", f"is also declared in {found[name].source}",
                                            connection=name))
                else:
                    found[name] = conn
    return found, problems


def declared_kinds(folders: Iterable[Path]) -> dict[str, str]:
    """Name -> kind of every connection declared with a known kind, valid or not (so a step naming a
    connection with a problem is not also told the connection does not exist)."""
    return {name: spec["kind"] for folder in folders for _, raw in _declared(Path(folder))[0]
            if isinstance(raw, dict) for name, spec in raw.items()
            if isinstance(spec, dict) and spec.get("kind") in KINDS}


def load_connections(folders: Iterable[Path]) -> dict[str, Connection]:
    """The folders' connections; ConfigError listing every problem when any is wrong."""
    found, problems = find_connections(folders)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in connections:\n  " + "\n  ".join(map(str, problems)),
                          {"problems": [p.__dict__ for p in problems]})
    return found


def used_connections(value: Any) -> set[str]:
    """The connection names that the ``http`` and ``sql`` steps inside a definition use."""
    found: set[str] = set()
    if isinstance(value, dict):
        if value.get("kind") in KINDS and isinstance(value.get("connection"), str):
            found.add(value["connection"])
        for item in value.values():
            found |= used_connections(item)
    elif isinstance(value, list):
        for item in value:
            found |= used_connections(item)
    return found


def call_defaults(connections: dict[str, Connection], names: Iterable[str]) -> dict[str, Any]:
    """What a run pins of the named connections: their default ``retry`` (no secrets, no URLs)."""
    return {n: {"retry": connections[n].settings["retry"]} for n in sorted(names)
            if n in connections and "retry" in connections[n].settings}
