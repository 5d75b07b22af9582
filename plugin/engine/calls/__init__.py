"""Calls to connected systems: HTTP and SQL activities over the workspace's connections, their payload types,
connection authentication, and the network guard that keeps steps away from addresses they may not reach."""
