"""Throwaway database servers for the sql connection tests: a PostgreSQL cluster (initdb + pg_ctl) and a
MariaDB server (mariadb-install-db + mariadbd), each in a temporary folder on a free port of 127.0.0.1, started by
the tests themselves (no system service), stopped and removed afterwards. Debian's packages ship the binaries
(`.ci/run` installs them); without them the tests that need a server skip and say why."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from plugin.embedded.processes import free_port


class ServerMissing(Exception):
    """The server's binaries are not installed; the message says what to install."""


def _as_service_user(user: str, folder: Path) -> list[str]:
    """Database servers refuse to run as root: run them as their package's user, owning the folder."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, user, user)
    return ["runuser", "-u", user, "--"]


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True) or [shutil.which("initdb") or ""]
    if not found[0]:
        raise ServerMissing("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    return Path(os.path.realpath(found[0])).parent


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL cluster for this test session; yields its SQLAlchemy URL."""
    bindir = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="wf-pg-"))
    run_as = _as_service_user("postgres", folder)
    data, port = folder / "data", free_port()
    ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run([*ctl, "-l", str(folder / "server.log"), "-w", "-t", "60", "-o",
                        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       check=True, capture_output=True, timeout=90)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def throwaway_mariadb() -> Iterator[str]:
    """A MariaDB server for this test session (grant tables skipped: it listens on 127.0.0.1 only, for the
    length of the tests); yields its SQLAlchemy URL."""
    install, server = shutil.which("mariadb-install-db"), shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not install or not os.path.exists(server):
        raise ServerMissing("MariaDB is not installed (Debian package mariadb-server; .ci/run installs it)")
    folder = Path(tempfile.mkdtemp(prefix="wf-maria-"))
    # as root, both take --user=mysql and drop to it themselves (so the server is our child, signals reach it)
    user = ["--user=mysql"] if _as_service_user("mysql", folder) else []
    data, port = folder / "data", free_port()
    proc = None
    try:
        subprocess.run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                        *user], check=True, capture_output=True, timeout=180)
        with open(folder / "server.log", "w") as log:
            proc = subprocess.Popen([server, "--no-defaults", f"--datadir={data}", f"--port={port}",
                                     "--bind-address=127.0.0.1", f"--socket={folder / 'sock'}", "--skip-grant-tables",
                                     f"--pid-file={folder / 'pid'}", "--innodb-flush-log-at-trx-commit=0", *user],
                                    stdout=log, stderr=subprocess.STDOUT)
        _wait_for_port(port, proc, folder / "server.log")
        import pymysql

        with pymysql.connect(host="127.0.0.1", port=port, user="root") as db, db.cursor() as cursor:
            cursor.execute("CREATE DATABASE IF NOT EXISTS people_test")
        yield f"mysql+pymysql://root@127.0.0.1:{port}/people_test"
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mariadbd stopped: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("mariadbd did not listen within 60 s")
