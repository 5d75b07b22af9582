"""The API as gunicorn serves it: errors gunicorn answers itself are JSON in the error shape, and a killed
master takes its workers with it (the port is free, nothing keeps serving)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from plugin.config import Settings
from plugin.embedded.processes import ManagedProcess, free_port, port_in_use, spawn, wait_until
from tests.conftest import ADMIN_KEY


def serve_api(settings: Settings, log: Path) -> tuple[ManagedProcess, str]:
    """``workflows-plugin serve`` on a free port (2 workers); returns the process and its base URL."""
    port = free_port()
    env = settings.with_overrides(port=port, api_workers=2, api_threads=2).to_env()
    proc = spawn("API", [sys.executable, "-m", "plugin.cli", "serve"], log, env)
    base = f"http://127.0.0.1:{port}"
    wait_until(proc, lambda: requests.get(f"{base}/healthz", timeout=2).ok, 60, "answering /healthz")
    return proc, base


def workers_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.fixture(scope="module")
def served(settings: Settings, worker, tmp_path_factory) -> Iterator[str]:
    proc, base = serve_api(settings, tmp_path_factory.mktemp("served") / "api.log")
    yield base
    proc.stop()


def raw_request(base: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def assert_error_shape(headers: dict[str, str], body: bytes, code: str) -> None:
    import json

    assert headers["Content-Type"] == "application/json", (headers, body[:200])
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"] and error["details"] == {}


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
     431, "headers_too_large"),
    (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
])
def test_errors_gunicorn_answers_are_json_in_the_error_shape(served, request_bytes, status, code):
    got, headers, body = raw_request(served, request_bytes)
    assert got == status
    assert_error_shape(headers, body, code)


def test_trace_through_gunicorn_is_405_with_allow(served):
    response = requests.request("TRACE", f"{served}/api/v1/runs", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                                timeout=10)
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_workers_die_with_a_killed_master(settings: Settings, worker, tmp_path: Path):
    proc, base = serve_api(settings, tmp_path / "api.log")
    workers: list[int] = []
    try:
        workers = wait_for_workers(proc.proc.pid, 2)
        port = int(base.rsplit(":", 1)[1])
        os.kill(proc.proc.pid, signal.SIGKILL)
        proc.proc.wait(10)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and (any(alive(w) for w in workers) or port_in_use(port)):
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), "gunicorn workers outlived their master"
        assert not port_in_use(port), "the port is still served after the master died"
    finally:
        proc.stop()
        for pid in workers:  # orphans of the killed master, if the test failed
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def wait_for_workers(master: int, count: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = workers_of(master)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not start {count} workers")


def test_a_413_closes_the_connection_it_announces_or_keeps_it_usable(served, settings):
    """http.client reuses a keep-alive connection; after a 413 the next request on it must still be answered."""
    host, port = served.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Workflows-User": "big@example.com",
               "Content-Type": "application/json"}
    try:
        for _ in range(3):
            conn.request("POST", "/api/v1/queries/runs_lab/runs", body=b" " * (settings.max_body_bytes + 1),
                         headers=headers)
            too_big = conn.getresponse()
            body = too_big.read()
            assert too_big.status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
            assert too_big.getheader("Connection") == "close", too_big.getheaders()
            conn.request("GET", "/healthz")  # a new connection when the last one said close
            after = conn.getresponse()
            assert after.status == 200, after.read()
            after.read()
    finally:
        conn.close()


def test_a_chunked_body_over_the_limit_is_413_and_the_connection_closes(served, settings):
    text = b'{"input": {"value": "' + b"x" * (settings.max_body_bytes + 1) + b'"}}'
    body = b"".join(b"%x\r\n%s\r\n" % (len(text[i:i + 65536]), text[i:i + 65536]) for i in range(0, len(text), 65536))
    status, headers, answer = raw_request(served, (
        b"POST /api/v1/queries/runs_lab/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN_KEY.encode()
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n"))
    assert status == 413 and headers["Connection"] == "close", (headers, answer)  # raw_request reads until the close
    assert json.loads(answer)["error"]["code"] == "payload_too_large"
