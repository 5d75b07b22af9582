"""A decision's admission (abuse limits) and its first try at the request's lock, in one Redis call.

Resolve, Reassign and Cancel request take the request's lock before they send the update (``views._send``); the
lock's script also reads the request. Their admission used to be a Redis call of its own before the view ran:
on the decision's path that was one round trip of four (docs/performance.md, "Decisions (night of 2026-12-08)").
When the counters live in the Redis of the locks, the first try at the lock checks and counts them first in the
same script: over a limit, the answer is the 429 and no lock is taken. Otherwise (counters elsewhere, or nothing
to count) the request is admitted as every other request is, then the lock is taken as before.
"""

from __future__ import annotations

from typing import Any

from plugin.api.http import abuse_limits, rate_limits
from plugin.api.services import per_app
from plugin.store import scripts
from plugin.store.requests.request_locks import ACQUIRE_FUNCTION, FirstTry

# KEYS: the lock's two, then the admission's; ARGV: the lock's two, then the admission's. Answers {-1, index, ttl}
# when refused (no lock taken), else what ``acquire_lock`` answers.
_ADMIT_AND_LOCK = rate_limits.ADMIT_FUNCTION + ACQUIRE_FUNCTION + """
local refused = admit(2, 2)
if refused then return {-1, refused[1], refused[2]} end
return acquire_lock(0, 0)
"""


def admitted_first_try() -> FirstTry | None:
    """The first try at the lock with this request's admission joined to it, when its view must still admit it
    (``abuse_limits.defer_admission``): ``first_try_for`` that admission."""
    return first_try_for(abuse_limits.take_admission())


def first_try_for(admission: rate_limits.Admission | None) -> FirstTry | None:
    """The first try at the lock with ``admission`` joined to it, when the counters can be joined; else the request
    is admitted here (if there is anything to admit) and None is answered (the lock's own script then makes every
    try). A decision made in front of Flask (``fast_resolve``) hands its caller's admission here itself."""
    storage = rate_limits.join_or_admit(admission)
    if admission is None or storage is None:
        return None
    admit_keys, admit_args = admission.keys_and_args(storage)
    script = per_app("admit_and_lock", lambda client: scripts.register(client, _ADMIT_AND_LOCK))

    def first_try(keys: list[str], args: list[Any]) -> list[Any]:
        answer = script(keys=[*keys, *admit_keys], args=[*args, *admit_args])
        if answer[0] == -1:
            admission.settle(answer[1:])
        return answer
    return first_try
