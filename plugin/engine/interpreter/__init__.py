"""The node interpreter: one workflow (``node_workflow``) that runs JSON definitions step by step, the step kinds,
the template language, and the validator that names every problem of a definition at once."""
