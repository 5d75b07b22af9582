"""Redis-backed stores: read models (inbox), keys and connections."""
