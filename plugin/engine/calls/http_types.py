"""The input and output of the ``http_request`` activity (plain data: workflow code imports it)."""

from dataclasses import dataclass, field
from typing import Any

# ApplicationError types the http activity raises; those in NON_RETRYABLE are never retried.
HTTP_STATUS_RETRYABLE = "HttpStatusRetryable"
HTTP_STATUS = "HttpStatus"
FORBIDDEN_ADDRESS = "ForbiddenAddress"
INVALID_HTTP_REQUEST = "InvalidHttpRequest"
RESPONSE_TOO_LARGE = "ResponseTooLarge"
CONNECTION_FAILED = "HttpConnectionFailed"
NON_RETRYABLE = [HTTP_STATUS, FORBIDDEN_ADDRESS, INVALID_HTTP_REQUEST, RESPONSE_TOO_LARGE]


@dataclass
class HttpCall:
    """One outbound HTTP request of an ``http`` step."""

    method: str
    url: str
    step_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False
    timeout_seconds: float = 30.0
    retry_on_status: list[int] = field(default_factory=list)
    accept_status: list[int] = field(default_factory=list)
    max_attempts: int = 1
    # A named connection: ``url`` is then a path relative to its base URL (added by the activity).
    connection: str = ""


@dataclass
class HttpAnswer:
    """The response: status, headers, and the body (parsed JSON when it is JSON, else text)."""

    status: int
    headers: dict[str, str]
    body: Any
    url: str
    attempts: int = 1
