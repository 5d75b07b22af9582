"""The input of the ``sql_query`` activity (plain data: workflow code imports it)."""

from dataclasses import dataclass, field
from typing import Any

MODES = ("rows", "one", "execute")
# ApplicationError types the sql activity raises; those in NON_RETRYABLE are never retried.
SQL_ERROR = "SqlError"
SQL_TIMEOUT = "SqlTimeout"
SQL_UNAVAILABLE = "SqlUnavailable"
TOO_MANY_ROWS = "TooManyRows"
# Errors of any connection: a name the worker does not know, a secret that is set nowhere.
CONNECTION_ERRORS = ["UnknownConnection", "MissingSecret"]
NON_RETRYABLE = [SQL_ERROR, TOO_MANY_ROWS, *CONNECTION_ERRORS]


@dataclass
class SqlCall:
    """One statement of a ``sql`` step: bound parameters only, never SQL built from strings."""

    connection: str
    statement: str
    params: dict[str, Any] = field(default_factory=dict)
    mode: str = "rows"
    max_rows: int = 0  # 0: the connection's max_rows
    step_id: str = ""
