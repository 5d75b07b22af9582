"""The checkout the tests run in: the files only a checkout has (docs, README, pyproject, deploy/), and the
sample apps as the plugin itself finds them (through ``plugin.assets``, like the panels and the manifest)."""

from pathlib import Path

from plugin import assets

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_APPS = assets.sample_apps() or REPO_ROOT / "sample_apps"
