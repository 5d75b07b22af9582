"""The answer to ``GET /api/v1/requests`` in one Redis call: the request's admission (abuse limits), the check that
the inbox is built, the absences the caller stands in for, and the page itself, read by one script.

A page used to take five round trips (admission, the "built" mark, the absences, the index keys' tops, the
documents); on two shared cores each one's syscalls and thread hand-offs were a large part of a page's API CPU.
The rare pages this script cannot answer alone are read as before: a name filter (the documents must be parsed),
a caller standing in for an absent colleague now (their requests are offered too), an inbox to rebuild.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from plugin.api.http import abuse_limits, rate_limits
from plugin.api.http.auth import current_identity
from plugin.api.services import Services, per_app
from plugin.errors import PluginError
from plugin.models import PENDING, Identity
from plugin.readmodel import offers
from plugin.readmodel.inbox_rebuild import BUILT_KEY
from plugin.store import scripts
from plugin.store.inbox import PAGE_FUNCTION, PREFIX, Inbox, InboxPage
from plugin.store.requests.absences import FOR_DELEGATE_FUNCTION, Absence, Absences

# KEYS: the "inbox built" mark, the caller's absence:for key, the index keys (ARGV[1] of them), then the
# admission's. ARGV: the number of index keys, whether to admit ('1' or '0'), the caller as a delegate ('' when the
# page offers nothing: no user, or not the pending tab), now (ms), the prefix, then ``read_page``'s max_score,
# after_id ('' without a cursor) and limit, then the admission's. Answers {1, index, ttl} when refused (nothing
# read), {2} when the inbox is not built, else {0, the absences naming the caller, what read_page answers...}.
_ADMIT_AND_PAGE = rate_limits.ADMIT_FUNCTION + FOR_DELEGATE_FUNCTION + PAGE_FUNCTION + """
local count = tonumber(ARGV[1])
if ARGV[2] == '1' then
  local refused = admit(2 + count, 8)
  if refused then return {1, refused[1], refused[2]} end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {2} end
local standing = ARGV[3] ~= '' and for_delegate(2, ARGV[3], ARGV[4], ARGV[5]) or {}
local page = read_page(3, count, ARGV[6], ARGV[7] ~= '' and ARGV[7], tonumber(ARGV[8]), ARGV[5])
table.insert(page, 1, standing)
table.insert(page, 1, 0)
return page
"""


def _script(app: Flask) -> Any:
    return per_app("admit_and_page", lambda client: scripts.register(client, _ADMIT_AND_PAGE), app)


def inbox_page(svc: Services, args: dict[str, Any], ensure_inbox: Callable[[Services], None]) -> InboxPage:
    """The caller's page (``args``: status, name, limit, cursor), the request admitted first (429 when over a
    limit; when the counters live in the Redis of the inbox, in the same call). ``ensure_inbox`` rebuilds the
    inbox when Redis has lost it."""
    admission = abuse_limits.take_admission()
    if admission is not None and args.get("name"):  # a name filter is read step by step
        rate_limits.admit(admission)
        admission = None
    storage = rate_limits.join_or_admit(admission)
    if storage is None:
        admission = None
    try:
        who = current_identity(required=True)
    except PluginError:
        if admission is not None:
            rate_limits.admit(admission)
        raise
    if not args.get("name"):
        read = _read(svc, who, args, admission, storage)
        if read is not None:
            return read
    ensure_inbox(svc)
    return offers.list_with_offers(svc.inbox, svc.absences, who, status=args["status"], name=args.get("name"),
                                   limit=args["limit"], cursor=args.get("cursor"))


@dataclass(frozen=True)
class PageRead:
    """What the one call answered: the refusal (the request is over a limit; nothing read), or whether the inbox is
    built, the absences the caller stands in for now and the page (valid only when they stand in for nobody)."""

    refused: rate_limits.RateLimited | None = None
    built: bool = True
    standing_in: list[Absence] = field(default_factory=list)
    page: InboxPage | None = None


def read_page(app: Flask, who: Identity, args: dict[str, Any], admission: rate_limits.Admission | None,
              storage: Any) -> PageRead:
    """Admit the request (when ``admission`` is given: its counters live in ``storage``, the inbox's Redis) and
    read the caller's page (``args``: status, limit, cursor; no name) in one Redis call. Raises a Redis error (the
    request may not have been admitted)."""
    svc = app.extensions["workflows"]
    now_ms = int(time.time() * 1000)
    delegate = who.user if who.user and args["status"] == PENDING else ""
    index_keys, page_args = svc.inbox.page_keys_and_args(who, args["status"], args["limit"], args.get("cursor"))
    absence_keys = Absences.for_delegate_keys_and_args(delegate, now_ms)[0] if delegate else [f"{PREFIX}unused"]
    keys = [BUILT_KEY, *absence_keys, *index_keys]
    argv: list[Any] = [len(index_keys), "1" if admission is not None else "0", delegate.lower(), now_ms, PREFIX,
                       *page_args[:3]]
    if admission is not None:
        admit_keys, admit_args = admission.keys_and_args(storage)
        keys, argv = [*keys, *admit_keys], [*argv, *admit_args]
    answer = _script(app)(keys=keys, args=argv)
    if answer[0] == 1:
        try:
            admission.settle(answer[1:])  # type: ignore[union-attr]
        except rate_limits.RateLimited as refused:
            return PageRead(refused=refused)
    if answer[0] == 2:
        return PageRead(built=False)
    standing_in = Absences.active_among(answer[1], now_ms)
    return PageRead(standing_in=standing_in, page=None if standing_in else Inbox.parse_page(answer[2:]))


def _read(svc: Services, who: Identity, args: dict[str, Any], admission: rate_limits.Admission | None,
          storage: Any) -> InboxPage | None:
    """The page from one script call; None when it must be read the other way (the request is admitted then)."""
    read = read_page(current_app, who, args, admission, storage)
    if read.refused is not None:
        raise read.refused
    if not read.built:
        return None
    if read.standing_in:
        return offers.list_with_offers(svc.inbox, svc.absences, who, status=args["status"], name=None,
                                       limit=args["limit"], cursor=args.get("cursor"), standing_in=read.standing_in)
    return read.page
