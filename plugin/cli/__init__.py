"""The ``workflows-plugin`` command: ``up``, ``serve``, ``worker``, ``check``, ``reindex`` (``commands``), the
``panels``, ``samples`` and ``keys`` groups, and the start-up checks that refuse a misconfigured process in one
line."""

from plugin.cli.commands import main

__all__ = ["main"]
