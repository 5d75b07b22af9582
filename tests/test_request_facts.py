"""The analytics indexes follow the inbox's versioned-write rules: the write that stores a version indexes it, a
write that loses changes nothing, and a committed write replaces what a provisional one indexed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import redis

from plugin.engine.sla.apply import SYSTEM_ACTOR, SYSTEM_VIA
from plugin.models import HumanRequest, Identity
from plugin.readmodel.request_analytics import request_analytics
from plugin.store.inbox import Inbox
from plugin.store.requests import request_facts
from plugin.store.requests.request_facts import RequestFacts

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def request(version: int, status: str = "pending", due: datetime | None = None, **more) -> dict:
    doc = HumanRequest(id=more.pop("id"), run_id="r", query="q", name="n", message="", metadata={},
                       resolutions=["Approve"], users=["Ann@example.com"], groups=["ops"], required_approvals=1,
                       rejecting_resolutions=[], allow_self_approval=False, requester="x@example.com",
                       created_at=T0.isoformat(), status=status, version=version,
                       due_at=due.isoformat() if due else None)
    return {**doc.__dict__, "decisions": more.pop("decisions", []), **more}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def state(facts: RequestFacts, rid: str, now: datetime) -> tuple[bool, bool, str | None]:
    """(ended in the hour after T0, overdue at now, status in the facts)."""
    fact = facts.fact(rid)
    found = facts.ids(ms(T0), ms(T0 + timedelta(hours=1)), ms(now))
    return rid in found.ended, rid in found.overdue, fact.status if fact else None


def test_the_indexes_move_only_with_the_version_that_wins(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    inbox, facts = Inbox(client), RequestFacts(client)
    rid, due = f"facts-{uuid.uuid4().hex}", T0 + timedelta(minutes=5)
    later = T0 + timedelta(minutes=10)
    assert inbox.put(request(1, due=due, id=rid))
    assert rid in facts.ids(ms(T0), ms(T0) + 1, ms(T0)).opened
    assert state(facts, rid, later) == (False, True, "pending")  # past its due time, still pending: overdue
    decided = request(2, "resolved", due, id=rid, resolved_at=(T0 + timedelta(minutes=3)).isoformat(),
                      resolution="Approve", decisions=[{"actor": "ann@example.com", "resolution": "Approve",
                                                        "at": T0.isoformat()}])
    assert inbox.put(decided)
    assert state(facts, rid, later) == (True, False, "resolved")
    fact = facts.fact(rid)
    assert fact.deciders == ("ann@example.com",) and fact.users == ("ann@example.com",)
    assert fact.ended - fact.created == 3 * 60 * 1000 and fact.due == ms(due)
    # an older version arriving late (the worker's activity after the API's write) changes nothing
    assert not inbox.put(request(1, due=due, id=rid))
    assert state(facts, rid, later) == (True, False, "resolved")


def test_a_committed_write_replaces_what_a_provisional_one_indexed(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    inbox, facts = Inbox(client), RequestFacts(client)
    rid, due = f"facts-{uuid.uuid4().hex}", T0 + timedelta(minutes=5)
    later = T0 + timedelta(minutes=10)
    inbox.put(request(1, due=due, id=rid))
    # the run's end snapshot wrote version 2 as cancelled, but its task was lost; the committed version 2 is pending
    provisional = request(2, "cancelled", due, id=rid, resolved_at=(T0 + timedelta(minutes=1)).isoformat())
    assert inbox.put(provisional, provisional=True)
    assert state(facts, rid, later) == (True, False, "cancelled")
    assert inbox.put(request(2, due=due, id=rid, message="reassigned"))
    assert state(facts, rid, later) == (False, True, "pending")


def test_an_inbox_stored_before_the_facts_fills_them_on_the_rebuild(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    inbox, facts = Inbox(client), RequestFacts(client)
    rid = f"facts-{uuid.uuid4().hex}"
    doc = request(1, id=rid)
    inbox.put(doc)
    client.hdel(request_facts.FACTS, rid)  # as an inbox written by an older release holds it
    client.zrem(request_facts.OPENED, rid)
    assert not inbox.put(doc)  # the worker's rebuild writes the same version again
    assert facts.fact(rid) is not None and rid in facts.ids(ms(T0), ms(T0) + 1, ms(T0)).opened



def test_an_sla_policys_own_decision_counts_as_resolved_on_due_not_as_decided(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    inbox, facts = Inbox(client), RequestFacts(client)
    rid, due = f"facts-{uuid.uuid4().hex}", T0 + timedelta(minutes=5)
    auto = {"actor": SYSTEM_ACTOR, "resolution": "Approve", "at": due.isoformat(), "via": SYSTEM_VIA}
    inbox.put(request(2, "resolved", due, id=rid, resolved_at=due.isoformat(), resolution="Approve", decisions=[auto],
                      query=f"q-{rid}"))
    assert facts.fact(rid).deciders == ()
    answer = request_analytics(facts, T0, T0 + timedelta(hours=1), "query", Identity(is_admin=True),
                               query=f"q-{rid}", now=T0 + timedelta(hours=1))
    totals = answer["totals"]
    assert (totals["decided"], totals["auto_resolved"], totals["past_due"]) == (0, 1, 1)
    assert totals["p50_seconds"] is None
