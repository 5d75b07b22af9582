"""Runs: one run's answer (served from the read model), its step timeline, run history, and the run actions
(cancel, retry, and their bulk forms)."""
