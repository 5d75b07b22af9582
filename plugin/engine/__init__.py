"""The workflow engine: the base workflow with human requests, activities, registry and worker."""
