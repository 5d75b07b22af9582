"""One lock for everything in this process that builds Python ASTs, because of a CPython 3.11 bug.

CPython 3.11 keeps the AST constructor's recursion counter in state that all threads share. Two threads
converting ASTs at the same time can fail with "SystemError: AST constructor recursion depth mismatch". Two
things in this process do that:

- Jinja, in the worker's threads: it turns number literals into Python with ``ast.literal_eval`` and compiles
  templates (``plugin.engine.interpreter.templates``);
- werkzeug, while an API app is built: it compiles each URL rule with ``ast.parse`` (``plugin.api.create_app``).

Both take this lock. Builds are rare (templates are cached; an app is built once per process) but they do
overlap, e.g. when a process runs an in-process worker and builds apps, as the tests do.

The lock did not remove every case: in the tests' full run one app build still met the error at the same place
three runs in a row, while every ``ast`` user this code knows of held the lock (the other party was not found; a
finalizer run by the garbage collector in the middle of a conversion is one way for it to happen in a single
thread). Each conversion starts its count afresh, so ``create_app`` builds the app again when that error is raised
(``AST_ATTEMPTS`` times at most); no other error is retried.
"""

from __future__ import annotations

import threading

AST_LOCK = threading.RLock()

AST_ATTEMPTS = 3
_AST_COUNTER_ERROR = "AST constructor recursion depth mismatch"


def is_ast_counter_error(exc: BaseException) -> bool:
    """Whether ``exc`` is CPython 3.11's spurious AST recursion-counter error (nothing wrong with the input)."""
    return isinstance(exc, SystemError) and _AST_COUNTER_ERROR in str(exc)
