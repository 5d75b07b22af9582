"""Build step that puts the plugin's top-level files into the wheel: ``ui_panels/``, ``manifest.json``,
``manifest.schema.json`` and ``sample_apps/`` live beside the ``plugin`` package in the repository (where
people look for them), and the program serves or loads them at run time. Building a wheel copies them into
``plugin/_assets/`` with the same layout, where ``plugin.assets`` finds them once installed; an editable
install reads them from the checkout instead, so nothing is copied then. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ASSETS = ("manifest.json", "manifest.schema.json", "ui_panels", "sample_apps")  # = plugin.assets.TOP_LEVEL
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")


class build_py_with_assets(build_py):  # noqa: N801 - setuptools command classes are named like this
    """build_py, then a copy of the top-level files into the built package's ``_assets`` folder."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself (plugin.assets)
            return
        target = Path(self.build_lib) / "plugin" / "_assets"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in ASSETS:
            source = HERE / name
            if not source.exists():
                raise SystemExit(f"cannot build workflows-plugin: {name} is missing (see MANIFEST.in)")
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=SKIP)
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": build_py_with_assets})
