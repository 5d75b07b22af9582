"""Workflows plugin: durable workflows with humans in the loop, for internal-tool platforms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("workflows-plugin")  # one version: pyproject.toml's, as installed
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
