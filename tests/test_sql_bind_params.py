"""The validator finds a statement's ``:name`` bind parameters as SQLAlchemy's ``text()`` does (it reads them
without importing SQLAlchemy, so a worker loads SQLAlchemy only when a sql step runs)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

from plugin.engine.interpreter.validate_kinds import BIND_PARAM

STATEMENTS = [
    "SELECT * FROM t WHERE id = :id",
    "SELECT :a, :b, :a",
    "SELECT x::int FROM t WHERE y = :y",  # a PostgreSQL cast is not a parameter
    "SELECT '\\:not' , :yes",  # an escaped colon is not one either
    "SELECT :a:b",
    "UPDATE t SET v = :v_1 WHERE k=:k2",
    "SELECT :ünïcode, :x9",
    "SELECT 1 WHERE a=:a_b AND b = :_c AND c = 'time 10:30'",
    "SELECT :",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_bind_parameters_as_sqlalchemy_reads_them(statement: str) -> None:
    assert set(BIND_PARAM.findall(statement)) == set(text(statement).compile().params)


def test_the_worker_does_not_import_sqlalchemy_until_a_statement_runs() -> None:
    probe = ("import sys, plugin.worker; from plugin.workspace.loader import load_workspaces; "
             "from tests.checkout import SAMPLE_APPS; "
             "load_workspaces(tuple(p for p in SAMPLE_APPS.iterdir() if (p / 'workspace.json').is_file())); "
             "print('sqlalchemy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


URLS = ["sqlite:///equipment.db", "sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u:p@db:5432/app",
        "postgresql://u@db/app", "postgresql://u:@db/app", "mysql+pymysql://u:p%40ss@[::1]:3306/x?charset=utf8",
        "not a url", "://nothing", "db.example.com/app", "mysql://u:pw@h:/x", ""]


@pytest.mark.parametrize("url", URLS)
def test_connection_urls_as_sqlalchemy_reads_them(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from plugin.workspace.connections import SQL_URL

    def ours(url: str) -> object:
        found = SQL_URL.match(url)
        if found is not None and found["port"] is not None:
            int(found["port"])
        return None if found is None else bool(found["password"])

    def theirs(url: str) -> object:
        try:
            return bool(make_url(url).password)
        except ArgumentError:
            return None
    outcomes = []
    for read in (ours, theirs):
        try:
            outcomes.append(read(url))
        except ValueError:
            outcomes.append(ValueError)
    assert outcomes[0] == outcomes[1]
