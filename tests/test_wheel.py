"""Installed as a wheel, everything is there. The sdist and the wheel (built from the sdist, as `python -m build`
does) carry the panels, the settings page, the dev host, the manifest and its schema, the workspace schemas and
the sample apps; the wheel, installed with its dependencies into a fresh venv outside the checkout, runs `up`
from an empty directory and `serve` + `worker` against it, serving all of that and deciding an approval."""

from __future__ import annotations

import email
import json
import re
import secrets
import shutil
import sqlite3
import sys
import tarfile
import time
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from plugin.embedded.processes import free_port
from tests import installed_package as installed
from tests.checkout import REPO_ROOT
from tests.installed_package import Command, check_pages, ready, run
from tests.test_expense_flow import wait_for
from tests.test_up import headers

# Building and installing take about a minute alone, more on a busy machine: past the suite's 180 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "*.egg-info", "__pycache__", "*.pyc", ".workflows-data", "build",
                                    "dist", ".pytest_cache", ".ruff_cache", ".hypothesis", "node_modules")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel of a copy of the checkout (the build writes nothing into the checkout itself)."""
    started = time.monotonic()
    source = tmp_path_factory.mktemp("source") / "workflows-plugin"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, source])
    installed.timed("sdist and wheel built", started)
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its dependencies, installed by pip from the package index."""
    started = time.monotonic()
    path = installed.make_venv(tmp_path_factory.mktemp("installed") / "venv")
    [wheel] = dist.glob("*.whl")
    installed.pip_install(path, wheel)
    installed.timed("wheel installed with its dependencies", started)
    return path


def test_the_sdist_and_the_wheel_carry_every_asset(dist: Path):
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as archive:
        in_sdist = {name.partition("/")[2] for name in archive.getnames()}
    assets = installed.asset_files()
    assert {"ui_panels/settings/index.html", "ui_panels/devhost/index.html", "ui_panels/inbox/index.html",
            "sample_apps/expense-approval/workspace.json", "manifest.schema.json"} <= assets
    assert {f"plugin/_assets/{p}" for p in assets} - in_wheel == set()
    assert assets - in_sdist == set()
    schemas = {f"plugin/workspace/schemas/{p.name}" for p in (REPO_ROOT / "plugin/workspace/schemas").glob("*.json")}
    assert schemas and schemas <= in_wheel and schemas <= in_sdist
    assert not [n for n in in_wheel | in_sdist if "__pycache__" in n or n.endswith(".pyc")]


def test_the_package_metadata_is_what_an_index_shows(dist: Path):
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_string(archive.read(name).decode())
        assert f"{name.rsplit('/', 1)[0]}/licenses/LICENSE" in archive.namelist()
    assert metadata["Name"] == "workflows-plugin" and metadata["Version"] == VERSION
    assert metadata["Summary"] and metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == (REPO_ROOT / "README.md").read_text().strip()
    classifiers = metadata.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers and "Framework :: Flask" in classifiers


def test_the_command_runs_the_installed_package(venv: Path, tmp_path: Path):
    where = run([venv / "bin/python", "-c", "import plugin, plugin.assets; print(plugin.__file__); "
                 "print(plugin.assets.root()); print(plugin.__version__)"], cwd=tmp_path).stdout.split()
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert where == [str(site / "plugin/__init__.py"), str(site / "plugin/_assets"), VERSION]
    assert run([venv / "bin/workflows-plugin", "--version"]).stdout.strip() == f"workflows-plugin, version {VERSION}"


def test_samples_copy_gets_the_sample_apps_out_of_the_package(venv: Path, tmp_path: Path):
    copied = run([venv / "bin/workflows-plugin", "samples", "copy", "mine"], cwd=tmp_path)
    names = sorted(p.parent.name for p in (REPO_ROOT / "sample_apps").glob("*/workspace.json"))
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == names, copied.stdout
    checked = run([venv / "bin/workflows-plugin", "check", *(f"mine/{n}" for n in names)], cwd=tmp_path)
    assert checked.stdout.startswith("OK:")


def check_host_face(base_url: str, app_key: str) -> None:
    """The manifest (valid, this version, every panel), the OpenAPI document and the samples' queries and pages."""
    manifest = requests.get(f"{base_url}/manifest.json", timeout=10)
    assert manifest.status_code == 200, manifest.text
    schema = json.loads((REPO_ROOT / "manifest.schema.json").read_text())
    assert [e.message for e in Draft202012Validator(schema).iter_errors(manifest.json())] == []
    checkout_manifest = json.loads((REPO_ROOT / "manifest.json").read_text())
    assert manifest.json()["version"] == VERSION
    assert [p["id"] for p in manifest.json()["panels"]] == [p["id"] for p in checkout_manifest["panels"]]
    doc = requests.get(f"{base_url}/openapi.json", timeout=10)
    assert doc.status_code == 200
    validate(doc.json())
    queries = requests.get(f"{base_url}/api/v1/queries", headers=headers(app_key, "ann@example.com"), timeout=10)
    assert queries.status_code == 200, queries.text
    names = {q["name"] for q in queries.json()["queries"]}
    assert names == installed.sample_query_names() and len(names) >= 4
    assert {f"/api/v1/queries/{n}/runs" for n in names} <= set(doc.json()["paths"])
    apps = requests.get(f"{base_url}/apps.json", timeout=10).json()["apps"]
    pages = sorted(p.parent.name for p in (REPO_ROOT / "sample_apps").glob("*/app.json"))
    assert sorted(a["id"] for a in apps) == pages


def low_stock() -> dict[str, int]:
    """What the onboarding sample's digest must find, from the checkout's equipment.sql."""
    db = sqlite3.connect(":memory:")
    db.executescript((REPO_ROOT / "sample_apps/employee-onboarding/equipment.sql").read_text())
    return dict(db.execute("SELECT item, in_stock FROM equipment WHERE in_stock < 3").fetchall())


def approve_an_expense(base_url: str, app_key: str) -> dict:
    """An expense over 100 waits for a manager, who approves it; the completed run."""
    ann, bob = headers(app_key, "ann@example.com"), headers(app_key, "bob@example.com", "managers")
    started = requests.post(f"{base_url}/api/v1/queries/submit_expense/runs", headers=ann, timeout=10,
                            json={"input": {"employee": "ann@example.com", "amount": 640, "description": "Conference"}})
    assert started.status_code == 202, started.text
    run_url = f"{base_url}/api/v1/runs/{started.json()['run_id']}"
    wait_for(lambda: requests.get(run_url, headers=ann, timeout=10).json()["status"] == "waiting", 60, 0.3)
    [request] = wait_for(lambda: [r for r in requests.get(f"{base_url}/api/v1/requests", headers=bob, timeout=10)
                                  .json()["requests"] if r["run_id"] == started.json()["run_id"]], 30, 0.3)
    resolved = requests.post(f"{base_url}/api/v1/requests/{request['id']}/resolve", headers=bob, timeout=30,
                             json={"resolution": "Approve", "comment": "ok"})
    assert resolved.status_code == 200, resolved.text
    return wait_for(lambda: (r := requests.get(run_url, headers=ann, timeout=10).json())["status"] == "completed"
                    and r, 30, 0.3)


def decide_in_bulk_with_evidence_absences_analytics_and_slack(base_url: str, app_key: str, admin_key: str) -> None:
    """The request features added after the first release, through the installed package: an out-of-office
    absence, a bulk decision (one decided, one unknown id), the decision's evidence, the decisions export, the SLA
    analytics and the Slack connection's state."""
    ann, bob = headers(app_key, "ann@example.com"), headers(app_key, "bob@example.com", "managers")
    admin = {"Authorization": f"Bearer {admin_key}"}
    now = datetime.now(UTC)
    away = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat(),
            "delegate": "carol@example.com"}
    assert requests.put(f"{base_url}/api/v1/absences/me", headers=bob, json=away, timeout=10).status_code == 200
    assert requests.get(f"{base_url}/api/v1/absences/me", headers=bob, timeout=10).json()["delegate"] == \
        "carol@example.com"
    assert requests.delete(f"{base_url}/api/v1/absences/me", headers=bob, timeout=10).status_code == 204
    started = requests.post(f"{base_url}/api/v1/queries/submit_expense/runs", headers=ann, timeout=10,
                            json={"input": {"employee": "ann@example.com", "amount": 720, "description": "Train"}})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    [request] = wait_for(lambda: [r for r in requests.get(f"{base_url}/api/v1/requests", headers=bob, timeout=10)
                                  .json()["requests"] if r["run_id"] == run_id], 60, 0.3)
    unknown = "submit_expense-nothing:0123456789ab-1"
    answer = requests.post(f"{base_url}/api/v1/requests/bulk-resolve", headers=bob, timeout=60,
                           json={"ids": [request["id"], unknown], "resolution": "Approve", "comment": "in bulk"})
    assert answer.status_code == 200, answer.text
    assert [(r["id"], r["status"]) for r in answer.json()["results"]] == [(request["id"], 200), (unknown, 404)]
    evidence = requests.get(f"{base_url}/api/v1/requests/{request['id']}/evidence", headers=bob, timeout=10)
    assert evidence.status_code == 200 and evidence.json()["decisions"][0]["evidence_sha256"], evidence.text
    exported = requests.get(f"{base_url}/api/v1/decisions/export", headers=admin, timeout=30,
                            params={"since": (now - timedelta(minutes=5)).isoformat(), "format": "jsonl",
                                    "until": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})
    assert exported.status_code == 200, exported.text
    assert request["id"] in [json.loads(line).get("request_id") for line in exported.text.splitlines()]
    analytics = requests.get(f"{base_url}/api/v1/analytics/requests", headers=bob, timeout=30)
    assert analytics.status_code == 200, analytics.text
    slack = requests.get(f"{base_url}/api/v1/slack", headers=admin, timeout=10)
    assert slack.status_code == 200 and slack.json()["connected"] is False, slack.text


def test_up_from_an_empty_directory_then_serve_and_worker_against_it(venv: Path, tmp_path: Path):
    started = time.monotonic()
    empty = tmp_path / "empty"
    empty.mkdir()
    port, temporal_port = free_port(), free_port()
    up = Command(venv, ["up"], empty, tmp_path / "up.log", WORKFLOWS_PORT=str(port),
                 WORKFLOWS_TEMPORAL_PORT=str(temporal_port), WORKFLOWS_TEMPORAL_UI_PORT=str(free_port()),
                 WORKFLOWS_EVENTS_PORT=str(free_port()), WORKFLOWS_API_WORKERS="1", WORKFLOWS_API_THREADS="4")
    production: list[Command] = []
    try:
        banner = up.wait_for_output("Ready in", 120)
        assert re.search(r"Workspaces\s+employee-onboarding, expense-approval, purchase-request, refund-processing",
                         banner), banner
        app_key = re.search(r"App key\s+(\S+)", banner).group(1)
        admin_key = re.search(r"Admin key\s+(\S+)", banner).group(1)
        redis_url = re.search(r"Starting Redis \((\S+)\)", banner).group(1)
        base = f"http://127.0.0.1:{port}"
        ready(base)
        installed.timed("up ready (from an empty directory)", started)
        check_pages(base)
        check_host_face(base, app_key)
        digest = requests.post(f"{base}/api/v1/queries/onboarding_digest/runs", json={"input": {}}, timeout=30,
                               headers=headers(app_key, "it@example.com", "it"))
        assert digest.status_code == 200, digest.text  # the sample's SQLite file, read inside site-packages
        assert {r["item"]: r["in_stock"] for r in digest.json()["output"]["low_stock"]} == low_stock()
        assert {p.name for p in empty.iterdir()} == {".workflows-data"}, "up writes only its data dir here"

        api_port = free_port()
        # WORKFLOWS_PUBLIC_URL: workers sign approval links with it, and /readyz refuses workers that disagree
        shared = {"WORKFLOWS_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
                  "WORKFLOWS_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}", "WORKFLOWS_REDIS_URL": redis_url,
                  "WORKFLOWS_TASK_QUEUE": "installed-production", "WORKFLOWS_DECISION_SECRET": secrets.token_hex(16),
                  "WORKFLOWS_DATA_DIR": str(tmp_path / "production")}
        production.append(Command(venv, ["worker"], empty, tmp_path / "worker.log", **shared))
        production.append(Command(venv, ["serve"], empty, tmp_path / "serve.log", **shared,
                                  WORKFLOWS_PORT=str(api_port), WORKFLOWS_ADMIN_KEY=admin_key,
                                  WORKFLOWS_APP_KEY=app_key, WORKFLOWS_API_WORKERS="1", WORKFLOWS_API_THREADS="4",
                                  # a host that fills the user headers on its server (serve asks to be told)
                                  WORKFLOWS_APP_KEY_IDENTITY="headers", WORKFLOWS_APP_KEY_HEADERS_SOURCE="server"))
        production_base = f"http://127.0.0.1:{api_port}"
        ready(production_base)  # the worker polls the production task queue
        check_pages(production_base)
        check_host_face(production_base, app_key)
        completed = approve_an_expense(production_base, app_key)
        assert completed["output"]["approved"] is True and completed["output"]["decision"]["by"] == "bob@example.com"
        decide_in_bulk_with_evidence_absences_analytics_and_slack(production_base, app_key, admin_key)
        installed.timed("up, serve and worker checked, an approval decided", started)
    finally:
        for command in reversed(production):
            command.stop()
        assert up.stop() == 0, up.output()
