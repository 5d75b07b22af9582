"""``workflows-plugin up``: everything on one machine. Starts and supervises a Temporal dev server, a Redis server,
a worker, the API and the sample apps' stand-in services in one data dir."""
