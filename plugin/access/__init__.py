"""Who is calling and what they may hold open, without HTTP frameworks: shared by the Flask API (``plugin.api``)
and the events edge (``plugin.edge``), so both faces authenticate, sign stream tokens and serve event streams by
the same rules."""
