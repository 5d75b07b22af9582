"""What admins and operators set, kept in Redis: API keys (hashed) and their start-up warnings, runtime settings and
their audit, secrets shared by every process (encrypted), and what API and workers must agree on."""
