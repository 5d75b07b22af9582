"""Workflow queries: what an app can bind to, Trigger workflow, and the step graph of a node-based query."""
