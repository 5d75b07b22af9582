"""The plugin installed the way production installs it, for the tests that check a built package: a fresh venv
outside the checkout, dependencies from the package index pip is configured with, commands run from a folder of
their own with none of the test run's settings, and what such an installation must serve (read from the
checkout, so a package that lost a file cannot agree with itself)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.checkout import REPO_ROOT
from tests.test_expense_flow import wait_for

ASSET_DIRS = ("ui_panels", "sample_apps")
ASSET_FILES = ("manifest.json", "manifest.schema.json")


def asset_files() -> set[str]:
    """Every file the package must carry, as a path in the repository's layout (caches aside)."""
    found = set(ASSET_FILES)
    for folder in ASSET_DIRS:
        found |= {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}
    return found


def run(args: list[str | Path], **kw) -> subprocess.CompletedProcess:
    """A command that must succeed; its output in the failure when it does not."""
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def user_env(venv: Path, **settings: str) -> dict[str, str]:
    """A user's shell with the venv activated: none of the test run's WORKFLOWS_*, PYTHON* or venv variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WORKFLOWS_", "PYTHON", "PYTEST", "VIRTUAL_ENV", "PROMETHEUS_"))}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", **settings}


def make_venv(path: Path) -> Path:
    """A fresh venv of this test run's Python (its own site-packages only), with pip as configured here."""
    run([sys.executable, "-m", "venv", path])
    return path


def pip_install(venv: Path, *args: str | Path, cwd: Path | None = None) -> None:
    """``pip install`` into the venv, dependencies included (from the package index pip uses)."""
    run([venv / "bin" / "pip", "install", "--quiet", *args], env=user_env(venv), cwd=cwd)


class Command:
    """A long-running command of the installed package, its output in a file, stopped by its own pid."""

    def __init__(self, venv: Path, args: list[str], cwd: Path, log: Path, **settings: str) -> None:
        self.log = log
        self.out = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([str(venv / "bin" / "workflows-plugin"), *args], cwd=cwd,
                                     env=user_env(venv, **settings), stdout=self.out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text()

    def wait_for_output(self, text: str, timeout: float) -> str:
        wait_for(lambda: text in self.output() or self.proc.poll() is not None, timeout, 0.2)
        assert text in self.output(), self.output()
        return self.output()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(60)
        finally:
            self.out.close()
        return code


def ready(base_url: str, timeout: float = 60) -> dict:
    """Wait until ``/readyz`` says every part is ok; its body."""
    def answer() -> dict | None:
        try:
            body = requests.get(f"{base_url}/readyz", timeout=5).json()
        except requests.RequestException:
            return None
        return body if body.get("status") == "ok" else None
    return wait_for(answer, timeout, 0.3)


def sample_query_names() -> set[str]:
    """The queries of every sample app, as their workspace files declare them."""
    return {name for path in (REPO_ROOT / "sample_apps").glob("*/workspace.json")
            for name in json.loads(path.read_text()).get("queries", {})}


def check_pages(base_url: str, timeout: float = 10) -> None:
    """The settings page, the dev host and every file of the panels, byte for byte as the checkout has them;
    the panels' export."""
    panels = REPO_ROOT / "ui_panels"
    for path, file in (("/settings", panels / "settings/index.html"), ("/", panels / "devhost/index.html")):
        got = requests.get(base_url + path, timeout=timeout)
        assert (got.status_code, got.content) == (200, file.read_bytes()), path
    manifest = json.loads((REPO_ROOT / "manifest.json").read_text())
    for panel in manifest["panels"]:
        got = requests.get(f"{base_url}/ui/{panel['id']}/", timeout=timeout)
        assert (got.status_code, got.content) == (200, (REPO_ROOT / panel["entry"]).read_bytes()), panel["id"]
        export = requests.get(f"{base_url}/ui/export/{panel['id']}.json", timeout=timeout)
        if "bound" in panel["modes"]:
            assert export.status_code == 200 and export.json()["js"], panel["id"]
        else:  # standalone only (the binding helper): not offered as a custom widget
            assert export.status_code == 409, panel["id"]
    for file in sorted(p for p in panels.rglob("*") if p.is_file()):
        path = f"/ui/{file.relative_to(panels).as_posix()}"
        got = requests.get(base_url + path, timeout=timeout)
        assert (got.status_code, got.content) == (200, file.read_bytes()), path


def timed(label: str, started: float) -> float:
    """Seconds since ``started``, printed (shown with ``-s``) for the run's record."""
    seconds = time.monotonic() - started
    print(f"\n{label}: {seconds:.1f}s")
    return seconds
