"""plugin.assets, the one place that knows where the panels, the manifest and the sample apps are: the checkout's
top level, or ``plugin/_assets`` of an installed wheel (tests/test_wheel.py installs one), and a clear error when
an installation has neither."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin import assets
from plugin.config import Settings
from tests.checkout import REPO_ROOT


@pytest.fixture
def package_at(monkeypatch) -> Iterator:
    """Make ``plugin`` look as if it were installed at a given folder."""
    def place(folder: Path) -> None:
        monkeypatch.setattr(assets, "files", lambda name: folder / name.removeprefix("plugin").replace(".", "/"))
        assets.root.cache_clear()
    yield place
    assets.root.cache_clear()


def test_a_checkout_reads_the_top_level_files():
    assert assets.root() == REPO_ROOT
    assert assets.ui_panels() == REPO_ROOT / "ui_panels" and assets.manifest_path() == REPO_ROOT / "manifest.json"
    assert assets.manifest_schema_path().is_file() and (assets.ui_panels() / "settings/index.html").is_file()
    assert [p.name for p in assets.sample_workspaces()] == sorted(
        p.parent.name for p in (REPO_ROOT / "sample_apps").glob("*/workspace.json"))
    schema = assets.workspace_schema("workspace.schema.json")
    assert schema == REPO_ROOT / "plugin/workspace/schemas/workspace.schema.json"


def test_an_installed_package_reads_its_own_copy_first(tmp_path: Path, package_at):
    packaged = tmp_path / "site-packages/plugin/_assets"
    (packaged / "sample_apps/mine").mkdir(parents=True)
    (packaged / "sample_apps/mine/workspace.json").write_text("{}")
    package_at(tmp_path / "site-packages/plugin")
    assert assets.root() == packaged and assets.manifest_path() == packaged / "manifest.json"
    assert assets.sample_workspaces() == (packaged / "sample_apps/mine",)


def test_an_installation_without_them_says_how_to_install(tmp_path: Path, package_at):
    (tmp_path / "site-packages/plugin").mkdir(parents=True)
    package_at(tmp_path / "site-packages/plugin")
    with pytest.raises(assets.AssetsMissing, match=r"missing beside .*site-packages/plugin: install it from a wheel"):
        assets.ui_panels()
    assert assets.sample_apps() is None and assets.sample_workspaces() == ()
    assert Settings.from_env({}).workspaces == (), "no sample apps: no default workspace, and no crash"


def test_a_strict_editable_install_finds_the_checkout_through_its_links(tmp_path: Path, package_at):
    linked = tmp_path / "build/__editable__.workflows_plugin/plugin"  # what editable_mode=strict makes
    linked.mkdir(parents=True)
    (linked / "__init__.py").symlink_to(REPO_ROOT / "plugin/__init__.py")
    package_at(linked)
    assert assets.root() == REPO_ROOT
