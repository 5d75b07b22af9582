"""SLA analytics over the inbox read model: how many requests opened, were decided or expired in a time range, how
long deciding took, how many were decided by their due time, and how many are overdue now.

Read from the analytics indexes the inbox write keeps (``plugin.store.requests.request_facts``), never from
Temporal: the answer costs a few range reads and one small record per request in the range.

Definitions (docs/approvals.md, "SLA analytics"):
- *opened*: created in [since, until); *decided*, *expired*, *auto_resolved* (resolved at its due time by its
  ``due_resolution``, nobody deciding), *cancelled*: ended in [since, until);
- time to decision: end minus creation of the requests a person decided; p50 and p90 by nearest rank;
- *within_due* / *past_due*: of the requests that ended in the range with a due time, those a person decided by
  it, and those decided later, expired or resolved on due; ``within_due_share`` = within / (within + past);
- *overdue_now*: pending requests whose due time has passed (whatever the range).
Rows group by query, by assignee (a request counts for each user it is assigned to and each person who decided it)
or by group (each group it is assigned to). A caller who is not an admin sees only requests assigned to them or
their groups, or that they decided, and only their own assignee and group rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from plugin.models import CANCELLED, EXPIRED, PENDING, RESOLVED, Identity
from plugin.store.requests.request_facts import RequestFact, RequestFacts

GROUP_BY = ("query", "assignee", "group")


@dataclass
class _Tally:
    """Counts of one row while they are gathered."""

    opened: int = 0
    decided: int = 0
    expired: int = 0
    auto_resolved: int = 0
    cancelled: int = 0
    within_due: int = 0
    past_due: int = 0
    overdue_now: int = 0
    waits: list[float] = field(default_factory=list)

    def row(self, key: str | None) -> dict[str, Any]:
        """The row as the API answers it."""
        waits = sorted(self.waits)
        counted = self.within_due + self.past_due
        out = {k: v for k, v in asdict(self).items() if k != "waits"}
        return {**({"key": key} if key is not None else {}), **out,
                "p50_seconds": nearest_rank(waits, 0.5), "p90_seconds": nearest_rank(waits, 0.9),
                "within_due_share": round(self.within_due / counted, 4) if counted else None}


def nearest_rank(ordered: list[float], q: float) -> float | None:
    """The q-quantile of sorted values by nearest rank (None when there are none)."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3)


def _keys(fact: RequestFact, group_by: str) -> Iterable[str]:
    if group_by == "query":
        return (fact.query,)
    if group_by == "group":
        return fact.groups
    return dict.fromkeys(fact.users + fact.deciders)


def _visible(fact: RequestFact, viewer: Identity) -> bool:
    return viewer.user in fact.users or viewer.user in fact.deciders or bool(set(viewer.groups) & set(fact.groups))


def _count_end(tally: _Tally, fact: RequestFact) -> None:
    """Add a request that ended in the range."""
    decided = fact.status == RESOLVED and bool(fact.deciders)
    if decided:
        tally.decided += 1
        tally.waits.append((fact.ended - fact.created) / 1000)
    elif fact.status == RESOLVED:
        tally.auto_resolved += 1
    elif fact.status == EXPIRED:
        tally.expired += 1
    elif fact.status == CANCELLED:
        tally.cancelled += 1
    if fact.due is not None and fact.status != CANCELLED:
        if decided and fact.ended <= fact.due:
            tally.within_due += 1
        else:
            tally.past_due += 1


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def request_analytics(store: RequestFacts, since: datetime, until: datetime, group_by: str, viewer: Identity,
                      query: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The analytics answer for [since, until), grouped by ``group_by``, as ``viewer`` may see it."""
    now = now or datetime.now(UTC)
    lo, hi = _ms(since), _ms(until)
    found = store.ids(lo, hi, _ms(now))
    opened, ended, overdue = set(found.opened), set(found.ended), set(found.overdue)
    mine = None if viewer.is_admin else viewer
    rows: dict[str, _Tally] = {}
    total = _Tally()
    for fact in store.facts(opened | ended | overdue):  # each request's facts read once
        if (query and fact.query != query) or (mine is not None and not _visible(fact, mine)):
            continue
        was_opened = fact.id in opened and lo <= fact.created < hi
        has_ended = fact.id in ended and fact.ended is not None and lo <= fact.ended < hi
        is_overdue = fact.id in overdue and fact.status == PENDING
        keys = [k for k in _keys(fact, group_by) if _shown(k, group_by, mine)]
        for tally in (total, *(rows[k] if k in rows else rows.setdefault(k, _Tally()) for k in keys)):
            tally.opened += was_opened
            if has_ended:
                _count_end(tally, fact)
            tally.overdue_now += is_overdue
    return {"since": since.isoformat(), "until": until.isoformat(), "group_by": group_by, "query": query,
            "scope": "all" if mine is None else "own", "generated_at": now.isoformat(),
            "totals": total.row(None), "rows": [rows[k].row(k) for k in sorted(rows)]}


def _shown(key: str, group_by: str, viewer: Identity | None) -> bool:
    """Whether a row is the viewer's to see: every row for admins; a person's own row and their groups' rows."""
    if viewer is None or group_by == "query":
        return True
    return key == viewer.user if group_by == "assignee" else key in viewer.groups
