"""What admins (and the settings page) use: API keys, runtime settings, health (public liveness and readiness,
and the admin health page), loaded workspaces, connections and their secrets, and the payload codec endpoint."""
