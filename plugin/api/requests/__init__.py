"""Requests (human tasks): the caller's inbox, one request, resolve / reassign / cancel, and the signed approval
links that decide a request from a notification."""
