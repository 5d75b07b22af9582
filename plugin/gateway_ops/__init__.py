"""Temporal operations, as coroutines over a client: run them through the gateway.

``runs``: start, wait, describe, cancel; ``listing``: run history from visibility with a stable cursor;
``steps``: the step timeline from a run's history; ``requests``: decisions, reassignment and cancellation
of human requests as updates, and the open runs' requests; ``health``: whether a worker polls.
"""
