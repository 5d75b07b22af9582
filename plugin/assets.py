"""Where the files that the plugin serves and loads are: the UI panels (with the settings page and the dev
host), ``manifest.json`` and its schema, the sample apps, and the workspace JSON Schemas.

The first four live at the repository's top level, outside the ``plugin`` package, where people look for
them. A wheel carries them as ``plugin/_assets/`` with the same layout (setup.py copies them in when it
builds); a checkout, installed editable or imported by the tests, has them where they are. This module is
the one place that knows both; everything else asks it, so nothing depends on where the code was loaded from.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGED = "_assets"  # the folder inside the ``plugin`` package that a built wheel carries (see setup.py)
TOP_LEVEL = ("manifest.json", "manifest.schema.json", "ui_panels", "sample_apps")  # what setup.py copies there


class AssetsMissing(RuntimeError):
    """The installed package lacks its files: it was built without setup.py's step that adds them."""


def _on_disk(place: Traversable) -> Path:
    """A package folder as a real path: Flask sends files from folders, and workers import sample modules."""
    if not isinstance(place, Path):
        raise AssetsMissing(f"the plugin must be installed as files on disk, not inside an archive ({place})")
    return place


@cache
def root() -> Path:
    """The folder that holds ``ui_panels/``, ``manifest.json`` and ``sample_apps/`` in the repository's layout:
    ``plugin/_assets`` of an installed wheel, else the checkout the ``plugin`` package was imported from."""
    package = _on_disk(files("plugin"))
    packaged = package / PACKAGED
    if packaged.is_dir():
        return packaged
    checkout = (package / "__init__.py").resolve().parent.parent  # a strict editable install links the sources
    if all((checkout / name).exists() for name in TOP_LEVEL):
        return checkout
    raise AssetsMissing(f"the plugin's panels, manifest and sample apps are missing beside {package}: install "
                        "it from a wheel or sdist built with its setup.py (pip install workflows-plugin), or "
                        "editable from a checkout (pip install -e .)")


def ui_panels() -> Path:
    """The UI panels' folder: one sub-folder per panel, ``shared/``, ``settings/`` and ``devhost/``."""
    return root() / "ui_panels"


def manifest_path() -> Path:
    """The plugin manifest that ``GET /manifest.json`` serves."""
    return root() / "manifest.json"


def manifest_schema_path() -> Path:
    """The JSON Schema of the manifest."""
    return root() / "manifest.schema.json"


def sample_apps() -> Path | None:
    """The sample workspaces' parent folder (the default workspace), or None when this install has none."""
    try:
        folder = root() / "sample_apps"
    except AssetsMissing:
        return None
    return folder if folder.is_dir() else None


def sample_workspaces() -> tuple[Path, ...]:
    """Every sample app folder (one with a ``workspace.json``), by name."""
    parent = sample_apps()
    if parent is None:
        return ()
    return tuple(sorted(p for p in parent.iterdir() if (p / "workspace.json").is_file()))


def workspace_schema(name: str) -> Path:
    """A JSON Schema of workspace files, shipped inside the package (``plugin/workspace/schemas/``)."""
    return _on_disk(files("plugin.workspace")) / "schemas" / name
