"""Slack interactive approvals, the API's side (docs/slack.md): connecting the Slack app on the settings page
(``/api/v1/slack``) and Slack's interactions (``POST /hooks/slack/interactions``): a click or a modal is a
decision by the person Slack's signature vouches for, made through the same path as every other decision."""
