"""``serve`` keeps its files private and its own: the data dir 0700 and the metrics files 0600 (as ``up`` does),
and two replicas on one host each have their own gunicorn control socket (the default path is one per user: the
second replica took it over, and removed it when it stopped)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import pytest
import requests

from plugin.embedded.processes import free_port
from tests.test_expense_flow import wait_for


def start_serve(settings, data_dir, port: int) -> subprocess.Popen:
    env = {**os.environ, **settings.with_overrides(data_dir=data_dir, port=port, api_workers=1,
                                                   api_threads=4).to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "plugin.cli", "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(lambda: _answers(port) or proc.poll() is not None, timeout=60)
    assert proc.poll() is None, f"serve on {port} stopped"
    return proc


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.timeout(120)
def test_two_replicas_on_one_host_keep_private_files_and_their_own_control_sockets(settings, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    old_umask = os.umask(0o022)  # as an operator's shell would have it
    try:
        ports = free_port(), free_port()
        first = start_serve(settings, data, ports[0])
        second = start_serve(settings, data, ports[1])
    finally:
        os.umask(old_umask)
    try:
        for port in ports:
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert mode(data) == 0o700
        files = [p for port in ports for p in (data / "metrics" / f"api-{port}").glob("*.db")]
        assert files and {mode(p) for p in files} == {0o600}, {p.name: oct(mode(p)) for p in files}
        sockets = [data / f"gunicorn-{port}.ctl" for port in ports]
        assert all(s.is_socket() for s in sockets), sorted(p.name for p in data.iterdir())
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(30)
        assert sockets[1].is_socket() and _answers(ports[1])  # the other replica's socket is still there
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
