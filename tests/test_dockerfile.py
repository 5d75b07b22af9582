"""deploy/Dockerfile, proven without Docker: its steps followed in scratch roots (tests/dockerfile_steps.py) make an
image that holds the wheel built in its first stage, installed with its dependencies, and none of the source
tree; its CMD, run as its USER from its WORKDIR with its ENV and a deployment's settings, serves the settings
page and every panel, and its worker command serves the workspace the deployment files name."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from plugin.embedded.processes import free_port
from tests.checkout import REPO_ROOT
from tests.dockerfile_steps import Build, Stage
from tests.installed_package import check_pages, ready
from tests.test_deploy_files import compose_envs
from tests.test_up import headers

# Building and installing take about a minute alone, more on a busy machine: past the suite's 180 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]


@pytest.fixture(scope="module")
def build() -> Iterator[Build]:
    # Not under pytest's own temporary folder (0700): the image's user must reach its files, as in a container.
    work = Path(tempfile.mkdtemp(prefix="workflows-image-"))
    work.chmod(0o755)
    try:
        yield Build(REPO_ROOT / "deploy/Dockerfile", REPO_ROOT, work).run()
    finally:
        shutil.rmtree(work)


def site_packages(image: Stage) -> Path:
    [found] = image.path("/usr/local/lib").glob("python3.*/site-packages")
    return found


def test_the_image_holds_the_installed_wheel_and_none_of_the_source(build: Build):
    image = build.image
    assert (image.workdir, image.user, image.cmd) == ("/app", "workflows", ["workflows-plugin", "serve"])
    assert build.users["workflows"] == 10001 and 8787 in image.exposed
    [dist_info] = site_packages(image).glob("workflows_plugin-*.dist-info")
    installed_from = json.loads((dist_info / "direct_url.json").read_text())["url"]
    assert installed_from.startswith("file://") and installed_from.endswith(".whl"), installed_from
    assert (site_packages(image) / "plugin/_assets/ui_panels/settings/index.html").is_file()
    top = {p.name for p in image.root.iterdir()}
    assert "src" not in top and not image.path("/tmp/dist").exists(), "the source and the wheel stay in the build"
    assert [p.name for p in image.path("/app").iterdir()] == ["sample_apps"]
    for env in compose_envs().values():
        for folder in env["WORKFLOWS_WORKSPACE"].split(":"):
            assert image.path(f"{folder}/workspace.json").is_file(), folder
    if build.switch_user:
        assert image.path("/var/lib/workflows").stat().st_uid == 10001


def start(build: Build, args: list[str], log: Path, settings: dict[str, str]) -> subprocess.Popen:
    """A command of the image as its USER from its WORKDIR, with its ENV and then the deployment's settings."""
    image = build.image
    env = build.env(image) | {k: str(image.path(v)) if v.startswith("/app/") else v for k, v in settings.items()}
    with open(log, "w") as out:
        return subprocess.Popen(args, cwd=image.path(image.workdir), env=env, stdout=out, stderr=subprocess.STDOUT,
                                **build.as_user(image))


def test_the_image_serves_the_settings_page_and_panels_as_its_user(build: Build, tmp_path: Path,
                                                                   temporal_address: str, redis_url: str):
    if not build.switch_user:
        print(f"\nRunning as uid {os.geteuid()}: no Python 3.11 that another user may run, or not root")
    port, app_key = free_port(), f"app-{secrets.token_hex(12)}"
    settings = {
        # a deployment's settings (deploy/docker-compose.yml); the container's 0.0.0.0 stands as loopback here
        "WORKFLOWS_WORKSPACE": compose_envs()["api"]["WORKFLOWS_WORKSPACE"], "WORKFLOWS_HOST": "127.0.0.1",
        "WORKFLOWS_PORT": str(port), "WORKFLOWS_TEMPORAL_ADDRESS": temporal_address, "WORKFLOWS_REDIS_URL": redis_url,
        "WORKFLOWS_TASK_QUEUE": f"image-{uuid.uuid4().hex[:8]}", "WORKFLOWS_DECISION_SECRET": secrets.token_hex(16),
        "WORKFLOWS_ADMIN_KEY": f"admin-{secrets.token_hex(12)}", "WORKFLOWS_APP_KEY": app_key,
        "WORKFLOWS_API_WORKERS": "1", "WORKFLOWS_API_THREADS": "4",
    }
    processes = [start(build, build.image.cmd, tmp_path / "serve.log", settings),
                 start(build, ["workflows-plugin", "worker"], tmp_path / "worker.log", settings)]
    base = f"http://127.0.0.1:{port}"
    try:
        ready(base)  # Temporal, Redis and the worker of the image
        check_pages(base)
        assert requests.get(f"{base}/manifest.json", timeout=10).status_code == 200
        queries = requests.get(f"{base}/api/v1/queries", headers=headers(app_key, "ann@example.com"), timeout=10)
        assert [q["name"] for q in queries.json()["queries"]] == ["submit_expense"], queries.text
        if build.switch_user:  # the API's processes write their metrics as the image's user
            [metrics] = build.image.path("/var/lib/workflows/metrics").glob("api-*")
            assert metrics.stat().st_uid == build.users[build.image.user] == 10001
    finally:
        for proc in processes:
            proc.terminate()
        codes = [proc.wait(60) for proc in processes]
    assert codes == [0, 0], [(tmp_path / n).read_text()[-3000:] for n in ("serve.log", "worker.log")]
