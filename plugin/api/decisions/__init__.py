"""Decisions beyond one request at a time: bulk decisions, the evidence behind each decision, and the admins'
export of decisions over a time range."""
