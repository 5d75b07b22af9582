"""The events edge: an asynchronous process (Starlette on uvicorn) that holds the live event streams, many idle
streams per process, beside the Flask API. Its rules (keys, tokens, filtering, caps) are ``plugin.access``."""
