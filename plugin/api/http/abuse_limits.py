"""Abuse limits on the limiter of ``plugin.api.http.rate_limits``: requests per API key, per end user, and failed
authentications per client address. Over a limit, 429 in the error shape with ``Retry-After``.

Defaults (``workflows-plugin serve`` and ``up``; ``off`` turns one off):

| variable | default | counts |
|---|---|---|
| ``WORKFLOWS_RATE_LIMIT_KEY`` | ``12000/minute`` | requests made with one API key (all its users) |
| ``WORKFLOWS_RATE_LIMIT_USER`` | ``1200/minute`` | requests for one end user of one key |
| ``WORKFLOWS_RATE_LIMIT_FAILED_AUTH`` | ``30/minute`` | failed authentications from one client address |
| ``WORKFLOWS_RATE_LIMIT_FAILED_AUTH_CEILING`` | ``120/minute`` | failed authentications for one key prefix or one
  webhook, from every address together |

Once an address is over its failed-authentication limit, every authentication from it is refused (even with
a valid key) until the window ends, so guessing keys gains nothing. Wrong webhook tokens count the same way.
Guesses spread over many addresses add up to the ceiling of what they aim at (API keys by their prefix, such as
``wfp_app_``, or one query's webhook); past it, every address that has failed at all in its window is refused
until the ceiling's window ends, while addresses that never failed (the hosts that hold the key) go on.
"""

from __future__ import annotations

from functools import lru_cache

from flask import g, request

from plugin.api.http import rate_limits
from plugin.api.services import services
from plugin.config import Settings

FAILED_AUTH_SCOPE = "failed-auth"
# The WSGI environ entry of a request admitted before Flask saw it: None (admitted), or its refusal (a RateLimited).
ADMITTED = "workflows.admitted"
CEILING_SCOPE = "failed-auth-target"


def _address() -> str:
    return request.remote_addr or "unknown"


def _address_counter() -> rate_limits.Counter | None:
    return _address_counter_of(_address(), services().settings.rate_limit_failed_auth)


def _address_counter_of(address: str, limit: str | None) -> rate_limits.Counter | None:
    if not limit:
        return None
    return rate_limits.Counter(limit, FAILED_AUTH_SCOPE, address,
                               f"Too many failed authentications from this address (the limit is "
                               f"{rate_limits.parse_limit(limit)}); try again in {{retry_after}} s")


def key_target(presented: str) -> str:
    """What a presented API key aims at, for the ceiling: its prefix (``wfp_app_``), else any other key."""
    scope = presented.split("_")[1] if presented.startswith("wfp_") and presented.count("_") >= 2 else ""
    return f"key:wfp_{scope}_" if scope in ("admin", "app", "webhook") else "key:other"


def _ceiling(target: str | None) -> rate_limits.Counter | None:
    return _ceiling_of(target, services().settings.rate_limit_failed_auth_ceiling)


def _ceiling_of(target: str | None, limit: str | None) -> rate_limits.Counter | None:
    if not limit or target is None:
        return None
    return rate_limits.Counter(limit, CEILING_SCOPE, target,
                               "Too many failed authentications for this from many addresses, this one among them "
                               f"(the limit is {rate_limits.parse_limit(limit)}); try again in {{retry_after}} s")


def refuse_blocked_address(target: str | None = None) -> None:
    """429 when the caller's address is over its failed-authentication limit, or has failed at all while the
    failures for ``target`` (a key prefix or a webhook) are over their ceiling."""
    rate_limits.check_and_count(_address_counter(), [], _ceiling(target))


def count_failed_auth(target: str | None = None) -> None:
    """Count one failed authentication of the caller's address, and of ``target`` (the refusal itself stays a
    401/403)."""
    limits = rate_limits.strategy()
    counter = _address_counter()
    if counter is not None:
        limits.hit(counter.item, FAILED_AUTH_SCOPE, rate_limits.digest(_address()))
    ceiling = _ceiling(target)
    if ceiling is not None:
        limits.hit(ceiling.item, CEILING_SCOPE, rate_limits.digest(ceiling.identity))


def admission(key_ref: str, user: str, target: str | None = None) -> rate_limits.Admission:
    """What admitting an authenticated request takes: its address must be under its failed-authentication limit,
    then it counts against its key's limit (``key_ref`` tells keys apart) and, when it names one, its end
    user's."""
    return admission_of(services().settings, key_ref, user, target, _address())


def admission_of(settings: Settings, key_ref: str, user: str, target: str | None,
                 address: str) -> rate_limits.Admission:
    """``admission`` for a request from ``address`` (outside Flask's request context too)."""
    return _admission(key_ref, user, target, address, settings.rate_limit_key, settings.rate_limit_user,
                      settings.rate_limit_failed_auth, settings.rate_limit_failed_auth_ceiling)


@lru_cache(maxsize=4096)
def _admission(key_ref: str, user: str, target: str | None, address: str, key_limit: str | None,
               user_limit: str | None, failed_limit: str | None,
               ceiling_limit: str | None) -> rate_limits.Admission:
    """An admission, built once per process for each caller and set of limits (it holds no count, only which
    counters to check and what to say)."""
    hits = []
    if key_limit:
        hits.append(rate_limits.Counter(key_limit, "api-key", key_ref,
                                        f"Too many requests with this API key (the limit is {key_limit})"))
    if user_limit and user:
        hits.append(rate_limits.Counter(user_limit, "user", f"{key_ref}\0{user}",
                                        f"Too many requests for {user} (the limit is {user_limit})"))
    return rate_limits.Admission(_address_counter_of(address, failed_limit), tuple(hits),
                                 _ceiling_of(target, ceiling_limit))


def _admitted_in_front() -> bool:
    """Whether this request was already admitted in front of Flask (``ADMITTED`` in its WSGI environ, by
    ``plugin.api.front``); its refusal, if it was refused, is raised here."""
    if ADMITTED not in request.environ:
        return False
    refused = request.environ[ADMITTED]
    if refused is not None:
        raise refused
    return True


def admit_request(key_ref: str, user: str, target: str | None = None) -> None:
    """Admit an authenticated request in one Redis call: 429 when it is over a limit (see ``admission``). A request
    admitted in front of Flask is not admitted again."""
    if not _admitted_in_front():
        rate_limits.admit(admission(key_ref, user, target))


def defer_admission(key_ref: str, user: str, target: str | None = None) -> None:
    """Leave the admission of this request to its view, which joins it to its own Redis call: the view must call
    ``take_admission`` before it reads or answers anything. A request already admitted in front of Flask is not
    admitted again: its refusal, if it was refused, is raised here."""
    g.workflows_admission = None if _admitted_in_front() else admission(key_ref, user, target)


def take_admission() -> rate_limits.Admission | None:
    """The admission this request's view must still do (None when authentication already did it)."""
    return g.pop("workflows_admission", None)
