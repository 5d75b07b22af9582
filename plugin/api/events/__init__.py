"""Live updates: the Server-Sent Events endpoint, its stream tokens, and the one reader per process that fans
the Redis event stream out to open connections."""
