"""The ``sql_query`` activity: one statement of a ``sql`` step against a named SQL connection.

Statements are SQLAlchemy ``text()`` with named bind parameters (``:name``); values are always bound,
never spliced into the SQL. One engine (with its pool) per connection and process, rebuilt when the
connection's URL secret changes. A read-only connection is read-only in the database session and every
transaction on it is rolled back; the statement timeout is enforced by the database (SQLite: interrupted).

SQLAlchemy is imported when a statement first runs, not with the worker: it is 11 MB of a worker's memory that
runs no ``sql`` step.
"""

from __future__ import annotations

import base64
import math
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from plugin.engine.calls import sql_types as t
from plugin.engine.calls.connection_auth import MISSING_SECRET, UNKNOWN_CONNECTION
from plugin.engine.calls.connection_types import DEFAULT_MAX_ROWS, Connection
from plugin.secrets import MissingSecret, SecretStore, resolve, scrub

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy import exc

DEFAULT_STATEMENT_TIMEOUT = 30.0


def json_safe(value: Any) -> Any:
    """A database value as JSON: decimals as numbers when exact (else strings), times as ISO 8601,
    intervals as seconds, bytes as base64, UUIDs as strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    return str(value)


def _session_options(backend: str, read_only: bool, timeout: float) -> dict[str, Any]:
    """Driver connect arguments that make every session bounded in time and, when asked, read-only (set at
    connect, so no transaction can undo them)."""
    millis = max(int(timeout * 1000), 1)
    if backend == "postgresql":
        options = f"-c statement_timeout={millis}" + (" -c default_transaction_read_only=on" if read_only else "")
        return {"options": options}
    return {}


def _in_workspace(parsed: sa.URL, conn: Connection) -> sa.URL:
    """A relative SQLite file is the workspace's own (like its other files), not one in the directory the worker
    happens to start in: resolved against the folder of the file that declares the connection."""
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or Path(database).is_absolute() \
            or not conn.source:
        return parsed
    return parsed.set(database=str(Path(conn.source).resolve().parent / database))


def _mysql_setup(engine: sa.Engine, read_only: bool, timeout: float) -> None:
    """MySQL and MariaDB: each new session is bounded in time and, when asked, read-only. The two spell the
    time limit differently (MySQL ``max_execution_time`` in ms, MariaDB ``max_statement_time`` in seconds; each
    refuses the other's), so the server is asked which it is."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _bound(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            if "mariadb" in str(cursor.fetchone()[0]).lower():
                limit, read_only_flag = f"max_statement_time={timeout:.3f}", "tx_read_only"
            else:
                limit, read_only_flag = f"max_execution_time={max(int(timeout * 1000), 1)}", "transaction_read_only"
            cursor.execute(f"SET SESSION {limit}" + (f", SESSION {read_only_flag}=1" if read_only else ""))
        finally:
            cursor.close()


def _sqlite_setup(engine: sa.Engine, read_only: bool) -> None:
    """SQLite: a progress handler interrupts a statement past its deadline; ``query_only`` refuses writes."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        deadline = record.info.setdefault("deadline", [0.0])
        dbapi_conn.set_progress_handler(lambda: int(0 < deadline[0] < time.monotonic()), 1000)
        if read_only:
            dbapi_conn.execute("PRAGMA query_only = ON")


class SqlActivities:
    """SQL for ``sql`` steps and code workflows, over the workspace's sql connections."""

    def __init__(self, connections: dict[str, Connection], secrets: SecretStore) -> None:
        self.connections = connections
        self.secrets = secrets
        self._lock = threading.Lock()
        self._engines: dict[str, tuple[str, sa.Engine]] = {}

    def engine(self, conn: Connection, used: set[str]) -> sa.Engine:
        """The connection's engine (made once per URL), its URL's secret values added to ``used``."""
        import sqlalchemy as sa

        url = str(resolve(conn.settings["url"], self.secrets, used))
        parsed = sa.engine.make_url(url)
        if parsed.password:
            used.add(str(parsed.password))
        with self._lock:
            cached = self._engines.get(conn.name)
            if cached and cached[0] == url:
                return cached[1]
            backend, read_only = parsed.get_backend_name(), bool(conn.settings.get("read_only", False))
            if backend == "sqlite":
                parsed = _in_workspace(parsed, conn)
            options: dict[str, Any] = {"pool_pre_ping": True}
            if backend != "sqlite":
                options.update(pool_size=int(conn.settings.get("pool_size", 5)),
                               pool_timeout=conn.seconds("pool_timeout", 30.0),
                               connect_args=_session_options(backend, read_only, conn.seconds(
                                   "statement_timeout", DEFAULT_STATEMENT_TIMEOUT)))
            engine = sa.create_engine(parsed, **options)
            if backend == "sqlite":
                _sqlite_setup(engine, read_only)
            elif backend in ("mysql", "mariadb"):
                _mysql_setup(engine, read_only, conn.seconds("statement_timeout", DEFAULT_STATEMENT_TIMEOUT))
            if cached:
                cached[1].dispose()
            self._engines[conn.name] = (url, engine)
            return engine

    @activity.defn(name="sql_query")
    def sql_query(self, call: t.SqlCall) -> dict[str, Any]:
        """Run the statement with its bound parameters; ``rows`` -> ``{rows, count, truncated}``,
        ``one`` -> ``{row}`` (null when none; more than one is an error), ``execute`` -> ``{rowcount}``."""
        from sqlalchemy import exc

        conn = self.connections.get(call.connection)
        if conn is None or conn.kind != "sql":
            raise ApplicationError(f"there is no sql connection named {call.connection!r}",
                                   type=UNKNOWN_CONNECTION, non_retryable=True)
        used: set[str] = set()
        try:
            return self._run(conn, self.engine(conn, used), call, used)
        except MissingSecret as error:
            raise ApplicationError(f"connection {call.connection!r}: {error}", {"secret": error.name},
                                   type=MISSING_SECRET, non_retryable=True) from None
        except exc.SQLAlchemyError as error:
            raise _failure(call.connection, error, used, connecting=False) from None

    def _run(self, conn: Connection, engine: sa.Engine, call: t.SqlCall, used: set[str]) -> dict[str, Any]:
        import sqlalchemy as sa
        from sqlalchemy import exc

        limit = call.max_rows or int(conn.settings.get("max_rows", DEFAULT_MAX_ROWS))
        timeout = conn.seconds("statement_timeout", DEFAULT_STATEMENT_TIMEOUT)
        try:
            db = engine.connect()
        except exc.SQLAlchemyError as error:
            raise _failure(call.connection, error, used, connecting=True) from None
        with db:
            deadline = db.connection.info.get("deadline")
            if deadline is not None:
                deadline[0] = time.monotonic() + timeout
            try:
                result = db.execute(sa.text(call.statement), call.params)
                if call.mode == "execute":
                    out: dict[str, Any] = {"rowcount": result.rowcount}
                else:
                    rows = [json_safe(dict(r)) for r in result.mappings().fetchmany(
                        (limit if call.mode == "rows" else 1) + 1)] if result.returns_rows else []
                    if call.mode == "one" and len(rows) > 1:
                        raise ApplicationError(f"connection {call.connection!r}: the statement gave more than "
                                               "one row (mode 'one')", type=t.TOO_MANY_ROWS, non_retryable=True)
                    out = ({"row": rows[0] if rows else None} if call.mode == "one" else
                           {"rows": rows[:limit], "count": min(len(rows), limit), "truncated": len(rows) > limit})
                if conn.settings.get("read_only", False):
                    db.rollback()
                else:
                    db.commit()
                return out
            finally:
                if deadline is not None:
                    deadline[0] = 0.0

    def all(self) -> list:
        """The activity callables, for the worker."""
        return [self.sql_query]


def _failure(name: str, error: exc.SQLAlchemyError, used: set[str], connecting: bool) -> ApplicationError:
    """A typed ApplicationError with the driver's message (no parameters, no secret values): a database that
    cannot be reached is retried, a timed-out statement too, a statement the database refuses is not."""
    from sqlalchemy import exc

    orig = getattr(error, "orig", None) or error
    text = scrub(f"connection {name!r}: {type(orig).__name__}: {orig}", used)
    if connecting or isinstance(error, exc.TimeoutError):
        return ApplicationError(text, type=t.SQL_UNAVAILABLE)
    if "interrupted" in str(orig) or "canceling statement" in str(orig) or "max_execution_time" in str(orig) \
            or "max_statement_time" in str(orig):
        return ApplicationError(text + " (statement timeout)", type=t.SQL_TIMEOUT)
    return ApplicationError(text, type=t.SQL_ERROR, non_retryable=True)
