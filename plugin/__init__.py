"""Workflows plugin: durable workflows with humans in the loop, for internal-tool platforms."""

__version__ = "0.1.0"
