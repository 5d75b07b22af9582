"""One lock for everything in this process that builds Python ASTs, because of a CPython 3.11 bug.

CPython 3.11 keeps the AST constructor's recursion counter in state that all threads share. Two threads
converting ASTs at the same time can fail with "SystemError: AST constructor recursion depth mismatch". Two
things in this process do that:

- Jinja, in the worker's threads: it turns number literals into Python with ``ast.literal_eval`` and compiles
  templates (``plugin.engine.interpreter.templates``);
- werkzeug, while an API app is built: it compiles each URL rule with ``ast.parse`` (``plugin.api.create_app``).

Both take this lock. Builds are rare (templates are cached; an app is built once per process) but they do
overlap, e.g. when a process runs an in-process worker and builds apps, as the tests do.
"""

from __future__ import annotations

import threading

AST_LOCK = threading.RLock()
