"""The pure out-of-office rules: what the workflow's validator accepts for ``acting_for``, and what is offered to
whom (``plugin.engine.delegation``). No services needed."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from plugin.engine import delegation, humans
from plugin.models import Identity, ResolveInput
from plugin.store.requests.absences import Absence
from tests.test_request_rules import T0, make

NOW = int(T0.timestamp() * 1000)


def away(user: str, delegate: str, queries: tuple[str, ...] = ()) -> Absence:
    return Absence(user=user, starts="", ends="", delegate=delegate, from_ms=NOW - 1, to_ms=NOW + 10, queries=queries)


def claim(request, user: str, absent: str, resolution: str = "Approve") -> ResolveInput:
    return ResolveInput(request_id=request.id, resolution=resolution, identity=Identity(user), acting_for=absent)


@pytest.mark.parametrize(("options", "actor", "absent", "kind", "words"), [
    ({}, "b@x.io", "z@x.io", humans.NOT_FOUND, "not found"),  # the absent person is no assignee
    ({"users": ["a@x.io", "b@x.io"]}, "b@x.io", "a@x.io", humans.FORBIDDEN, "decide as yourself"),
    ({}, "req@x.io", "a@x.io", humans.FORBIDDEN, "you started yourself"),
    ({"users": ["req@x.io"]}, "b@x.io", "req@x.io", humans.FORBIDDEN, "they started themselves"),
])
def test_the_validator_refuses_acting_for_that_breaks_a_rule(options, actor, absent, kind, words):
    request = make(**options)
    with pytest.raises(ApplicationError) as caught:
        humans.check_resolve(request, claim(request, actor, absent))
    assert caught.value.type == kind and words in caught.value.message


def test_one_vote_per_person_whether_they_decided_themselves_or_through_a_delegate():
    request = make(users=["a@x.io", "c@x.io"], required_approvals=2)
    humans.check_resolve(request, claim(request, "b@x.io", "a@x.io"))
    humans.apply_decision(request, claim(request, "b@x.io", "a@x.io"), T0.isoformat())
    assert request.decisions[0].acting_for == "a@x.io" and request.decisions[0].actor == "b@x.io"
    for update in (ResolveInput(request_id=request.id, resolution="Approve", identity=Identity("a@x.io")),
                   claim(request, "b@x.io", "a@x.io")):
        with pytest.raises(ApplicationError) as caught:
            humans.check_resolve(request, update)
        assert caught.value.type == humans.CONFLICT


def test_offers_follow_the_absence_its_queries_and_one_hop():
    request = make(users=["a@x.io"])
    me = Identity("b@x.io")
    assert delegation.offered_for(request, me, [away("a@x.io", "b@x.io")]) == "a@x.io"
    assert delegation.offered_for(request, me, [away("a@x.io", "b@x.io", ("other",))]) == ""
    assert delegation.offered_for(request, Identity("c@x.io"), [away("b@x.io", "c@x.io")]) == "", "one hop"
    assert delegation.delegates_to_notify(request, [away("a@x.io", "b@x.io")]) == {"b@x.io": "a@x.io"}
    assert delegation.delegates_to_notify(request, [away("a@x.io", "req@x.io")]) == {}, "the requester is not told"
