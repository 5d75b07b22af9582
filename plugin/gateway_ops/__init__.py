"""Temporal operations on runs, as coroutines over a client: run them through the gateway.

``runs``: start, wait, describe, cancel; ``listing``: run history from visibility with a stable cursor;
``steps``: the step timeline from a run's history.
"""
