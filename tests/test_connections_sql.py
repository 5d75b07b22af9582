"""The sql_query activity, called directly, against SQLite, PostgreSQL and MariaDB: the servers are started by
the tests (tests/sql_servers.py: throwaway clusters on free ports) unless WORKFLOWS_TEST_POSTGRES_URL or
WORKFLOWS_TEST_MYSQL_URL names one, and skipped with the reason when neither is possible. Bound parameters stay
data, results are JSON-safe."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from temporalio.exceptions import ApplicationError

from plugin.engine.calls import sql_types as t
from plugin.engine.calls.sql_activity import SqlActivities
from plugin.secrets import SecretStore
from plugin.workspace.connections import check_connections
from tests.sql_servers import ServerMissing, throwaway_mariadb, throwaway_postgres

POSTGRES_ENV = "WORKFLOWS_TEST_POSTGRES_URL"
MYSQL_ENV = "WORKFLOWS_TEST_MYSQL_URL"
SERVERS = {"postgresql": (POSTGRES_ENV, throwaway_postgres, "psycopg", "postgres"),
           "mysql": (MYSQL_ENV, throwaway_mariadb, "pymysql", "mysql")}
INJECTIONS = ["x'); DROP TABLE people; --", "' OR '1'='1", "1; DELETE FROM people", "\\'; --"]


def seed(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(sa.text("DROP TABLE IF EXISTS people"))
        db.execute(sa.text("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(200), "
                           "salary NUMERIC(10, 2), born DATE, photo BLOB)" if not url.startswith("postgresql") else
                           "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(200), "
                           "salary NUMERIC(10, 2), born DATE, photo BYTEA)"))
        db.execute(sa.text("INSERT INTO people VALUES (1, 'Ann', 1234.50, '1990-05-17', :photo), "
                           "(2, 'Bob', 99.99, '1985-01-02', NULL), (3, 'Cy', 10, '2000-12-31', NULL)"),
                   {"photo": b"\x89PNG"})
    engine.dispose()


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[str], str]]:
    """The URL of each kind of server, started on first use (once per module) unless the environment names one."""
    with ExitStack() as stack:
        urls: dict[str, str | ServerMissing] = {}

        def url_of(kind: str) -> str:
            env, start, driver, extra = SERVERS[kind]
            pytest.importorskip(driver, reason=f"the driver is an extra: pip install '.[{extra}]'")
            if kind not in urls:
                try:
                    urls[kind] = os.environ.get(env) or stack.enter_context(start())
                except ServerMissing as exc:
                    urls[kind] = exc
            found = urls[kind]
            if isinstance(found, ServerMissing):
                pytest.skip(f"{found} (or set {env} to a server's URL)")
            return found

        yield url_of


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql(request, tmp_path: Path, servers) -> SqlActivities:
    url = f"sqlite:///{tmp_path / 'people.db'}" if request.param == "sqlite" else servers(request.param)
    seed(url)
    store = SecretStore(tmp_path, environ={"WORKFLOWS_SECRET_PEOPLE_DB": url})
    connections, problems = check_connections({
        "people": {"kind": "sql", "url": {"$secret": "PEOPLE_DB"}, "max_rows": 2},
        "people_ro": {"kind": "sql", "url": {"$secret": "PEOPLE_DB"}, "read_only": True},
    }, "test")
    assert problems == []
    return SqlActivities(connections, store)


def run(sql: SqlActivities, statement: str, params: dict | None = None, mode: str = "rows", **kw) -> dict:
    out = sql.sql_query(t.SqlCall(connection=kw.pop("connection", "people"), statement=statement,
                                  params=params or {}, mode=mode, **kw))
    json.dumps(out)  # JSON-safe: raises otherwise
    return out


def test_rows_are_json_safe_and_limited(sql):
    out = run(sql, "SELECT id, name, salary, born, photo FROM people ORDER BY id")
    assert out["count"] == 2 and out["truncated"] is True
    ann = out["rows"][0]
    assert ann["name"] == "Ann" and ann["salary"] == 1234.5 and ann["born"] == "1990-05-17"
    assert ann["photo"] == "iVBORw=="  # base64 of the bytes
    assert run(sql, "SELECT id FROM people ORDER BY id", max_rows=5) == {
        "rows": [{"id": 1}, {"id": 2}, {"id": 3}], "count": 3, "truncated": False}


def test_one_row_mode(sql):
    assert run(sql, "SELECT name FROM people WHERE id = :id", {"id": 2}, "one") == {"row": {"name": "Bob"}}
    assert run(sql, "SELECT name FROM people WHERE id = :id", {"id": 42}, "one") == {"row": None}
    with pytest.raises(ApplicationError) as caught:
        run(sql, "SELECT name FROM people", mode="one")
    assert caught.value.type == t.TOO_MANY_ROWS


@pytest.mark.parametrize("evil", INJECTIONS)
def test_bind_parameters_that_try_injection_stay_data(sql, evil):
    assert run(sql, "SELECT id FROM people WHERE name = :name", {"name": evil}) == {
        "rows": [], "count": 0, "truncated": False}
    out = run(sql, "INSERT INTO people (id, name) VALUES (:id, :name)", {"id": 100, "name": evil}, "execute")
    assert out == {"rowcount": 1}
    assert run(sql, "SELECT name FROM people WHERE id = 100", mode="one") == {"row": {"name": evil}}
    assert run(sql, "SELECT count(*) AS n FROM people", mode="one") == {"row": {"n": 4}}


def test_read_only_connection_refuses_writes(sql):
    with pytest.raises(ApplicationError) as caught:
        run(sql, "DELETE FROM people", mode="execute", connection="people_ro")
    assert caught.value.type == t.SQL_ERROR and caught.value.non_retryable
    assert run(sql, "SELECT count(*) AS n FROM people", mode="one") == {"row": {"n": 3}}


def test_sql_error_names_the_connection_not_the_url(sql):
    with pytest.raises(ApplicationError) as caught:
        run(sql, "SELECT nope FROM nowhere")
    assert caught.value.type == t.SQL_ERROR and "connection 'people'" in caught.value.message
    url = sql.engine(sql.connections["people"], set()).url
    shown = [url.render_as_string(hide_password=False), *([f"{url.host}:{url.port}"] if url.host else [])]
    assert not [part for part in shown if part in caught.value.message], caught.value.message


def test_statement_timeout_interrupts_a_long_sqlite_query(tmp_path):
    store = SecretStore(tmp_path, environ={})
    connections, _ = check_connections({"slow": {"kind": "sql", "url": f"sqlite:///{tmp_path / 's.db'}",
                                                 "statement_timeout": "200ms"}}, "test")
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT count(*) AS n FROM c")
    with pytest.raises(ApplicationError) as caught:
        SqlActivities(connections, store).sql_query(t.SqlCall(connection="slow", statement=endless, mode="one"))
    assert caught.value.type == t.SQL_TIMEOUT and not caught.value.non_retryable


def test_missing_url_secret_names_the_secret(tmp_path):
    connections, _ = check_connections({"db": {"kind": "sql", "url": {"$secret": "NO_SUCH_DB_URL"}}}, "test")
    with pytest.raises(ApplicationError) as caught:
        SqlActivities(connections, SecretStore(tmp_path, environ={})).sql_query(
            t.SqlCall(connection="db", statement="SELECT 1"))
    assert caught.value.type == "MissingSecret" and "NO_SUCH_DB_URL" in caught.value.message


def test_a_relative_sqlite_file_is_in_the_declaring_workspace_folder(tmp_path: Path, monkeypatch):
    folder = tmp_path / "workspace"
    folder.mkdir()
    seed(f"sqlite:///{folder / 'people.db'}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # where a worker starts has no say (an installed sample, a container's WORKDIR)
    connections, problems = check_connections({"people": {"kind": "sql", "url": "sqlite:///people.db",
                                                           "read_only": True}}, str(folder / "workspace.json"))
    assert problems == []
    out = run(SqlActivities(connections, SecretStore(tmp_path, environ={})), "SELECT name FROM people ORDER BY id")
    assert [r["name"] for r in out["rows"]] == ["Ann", "Bob", "Cy"]
    assert not (elsewhere / "people.db").exists()


@pytest.mark.parametrize("kind, slow", [("postgresql", "SELECT pg_sleep(5) AS n"),
                                        ("mysql", "SELECT SLEEP(5) AS n")])
def test_statement_timeout_interrupts_a_long_query_on_a_server(kind, slow, servers, tmp_path):
    """The session's time limit is set the way this server spells it (MariaDB and MySQL differ)."""
    store = SecretStore(tmp_path, environ={"WORKFLOWS_SECRET_SLOW_DB": servers(kind)})
    connections, _ = check_connections({"slow": {"kind": "sql", "url": {"$secret": "SLOW_DB"},
                                                 "statement_timeout": "300ms"}}, "test")
    started = time.monotonic()
    with pytest.raises(ApplicationError) as caught:
        SqlActivities(connections, store).sql_query(t.SqlCall(connection="slow", statement=slow, mode="one"))
    assert caught.value.type == t.SQL_TIMEOUT, caught.value.message
    assert time.monotonic() - started < 4
