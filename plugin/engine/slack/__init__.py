"""Slack interactive approvals, the worker's side: the Block Kit of requests, calls to Slack's Web API, the
activity and per-request workflow that keep Slack's messages in step with each request, and the follower
that turns the inbox's request events into signals for them (docs/slack.md)."""
