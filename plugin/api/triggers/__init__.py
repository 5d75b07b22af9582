"""Triggers from outside an app: webhooks (the public ``/hooks/{query}`` endpoint and its admin API, with Standard
Webhooks signatures) and schedules on Temporal Schedules."""
