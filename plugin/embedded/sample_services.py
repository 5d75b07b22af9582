"""Stand-in services of the sample apps. A sample folder may hold ``stub_service.py`` (a small local stand-in
for the system its http connections call: a team chat, a payments API); `up` starts it on the port those
connections name (``http://127.0.0.1:<port>``) and lets the worker call that address. Only folders of
``sample_apps/`` count: a real workspace never gets a stand-in."""

from __future__ import annotations

import json
import re
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from plugin import assets
from plugin.config import Settings
from plugin.embedded.processes import ManagedProcess, port_in_use, spawn
from plugin.embedded.supervisor import Recipe

STUB_FILE = "stub_service.py"
_LOCAL = re.compile(r"^http://127\.0\.0\.1:(\d+)(/|$)")


class _Stack(Protocol):
    settings: Settings

    def say(self, line: str) -> None: ...

    def _own(self, recipe: Recipe) -> ManagedProcess: ...


def sample_stubs(settings: Settings) -> list[tuple[Path, int]]:
    """(stub file, port) for each configured sample folder with a stand-in and a local http connection."""
    found = []
    samples = assets.sample_apps()
    for folder in settings.workspaces:
        stub = folder / STUB_FILE
        if samples is None or folder.resolve().parent != samples.resolve() or not stub.is_file():
            continue
        connections = json.loads((folder / "workspace.json").read_text()).get("connections", {})
        ports = {int(m.group(1)) for c in connections.values() if c.get("kind") == "http"
                 and (m := _LOCAL.match(str(c.get("base_url", ""))))}
        found += [(stub, port) for port in sorted(ports)]
    return found


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _recipe(stub: Path, port: int, log: Path) -> Recipe:
    """How the supervisor starts a stand-in (again) and tells it is back: it accepts connections."""
    def launch() -> ManagedProcess:
        return spawn(f"{stub.parent.name} stand-in :{port}", [sys.executable, str(stub), "--port", str(port)], log)

    return Recipe("sample", launch, lambda _proc: _answers(port))


def serving_sample(port: int) -> str | None:
    """The sample whose stand-in answers on 127.0.0.1:port (each names itself in ``X-Workflows-Sample``)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
            return answer.headers.get("X-Workflows-Sample")
    except urllib.error.HTTPError as exc:
        return exc.headers.get("X-Workflows-Sample")
    except (OSError, ValueError):
        return None


def start_sample_stubs(stack: _Stack) -> Settings:
    """Start the samples' stand-ins; the settings for the worker, with their addresses allowed.

    A second stack on the same machine (another ``up``) finds the first one's stand-in on the sample's fixed
    port: it shares it, since it answers the same. A port held by another program is said plainly, at start."""
    s = stack.settings
    allowed = []
    for stub, port in sample_stubs(s):
        sample = stub.parent.name
        if port_in_use(port):
            if serving_sample(port) == sample:
                stack.say(f"  {sample}: its stand-in already runs on 127.0.0.1:{port} (another `up`): sharing it")
                allowed.append(f"127.0.0.1:{port}")
            else:
                stack.say(f"  {sample}: port {port} of its stand-in service is taken by another program, so its "
                          f"runs' calls to 127.0.0.1:{port} will be refused; free the port and restart `up`")
            continue
        stack.say(f"Starting {sample}'s stand-in service on 127.0.0.1:{port} ...")
        stack._own(_recipe(stub, port, s.data_dir / "logs" / f"stub-{sample}-{port}.log"))
        allowed.append(f"127.0.0.1:{port}")
    return s.with_overrides(http_allow_hosts=tuple(dict.fromkeys([*s.http_allow_hosts, *allowed])))
