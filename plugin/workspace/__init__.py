"""Workspaces: folders of queries, node definitions, connections and schedules, loaded and checked (every
problem named at once) into what the API offers and the worker runs."""
