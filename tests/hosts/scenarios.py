"""The end-user session every host recipe must carry, whatever the host: issue 23's list, step by step.

An employee triggers with field errors, then correctly, and sees the run progress; a manager approves and
rejects (each button deciding what it says); two managers race and the second hears who decided; someone who may
not decide hears why; history answers every filter, pages, cancels and retries. Each host's test module gives a
:class:`HostSession` that performs these as its emulator does (clicks on the recipe's components).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from tests.hosts.common import eventually


@dataclass
class Outcome:
    """What the app shows after a query ran: the status the plugin answered and its JSON body."""

    code: int
    body: Any
    sent: list[dict[str, Any]]


class HostSession(Protocol):
    """One recipe's app, driven as its users would (each method is a click on the recipe's components)."""

    def submit(self, who: dict[str, Any], amount: Any = 640, description: str = "Conference") -> Outcome: ...

    def inbox(self, who: dict[str, Any]) -> Outcome: ...

    def decide(self, button: str, who: dict[str, Any], request: dict[str, Any], comment: str = "") -> Outcome: ...

    def run(self, who: dict[str, Any], run_id: str) -> Outcome: ...

    def runs(self, who: dict[str, Any], cursor: str = "", **filters: str) -> Outcome: ...

    def cancel(self, who: dict[str, Any], run_id: str) -> Outcome: ...

    def retry(self, who: dict[str, Any], run_id: str) -> Outcome: ...


class RunRowClicks:
    """``run``, ``cancel`` and ``retry`` of a :class:`HostSession`: one click each on a row of the runs table."""

    def click_run_row(self, action: str, who: dict[str, Any], run_id: str) -> Outcome:
        """Fire the recipe's action ``action`` (details, cancel, retry) on the row of ``run_id``."""
        raise NotImplementedError

    def run(self, who: dict[str, Any], run_id: str) -> Outcome:
        """The run's details."""
        return self.click_run_row("details", who, run_id)

    def cancel(self, who: dict[str, Any], run_id: str) -> Outcome:
        """Cancel the run."""
        return self.click_run_row("cancel", who, run_id)

    def retry(self, who: dict[str, Any], run_id: str) -> Outcome:
        """Retry the run (a new run, linked to it)."""
        return self.click_run_row("retry", who, run_id)


def email(name: str) -> str:
    """A fresh address, so runs of other tests never mix in."""
    return f"{name}-{uuid.uuid4().hex[:6]}@example.com"


def waiting_request(app: HostSession, who: dict[str, Any], manager: dict[str, Any]) -> dict[str, Any]:
    """Submit 640 as ``who`` and find its request in ``manager``'s inbox."""
    started = app.submit(who)
    assert started.code == 202, started.body
    run_id = started.body["run_id"]
    found = eventually(lambda: [r for r in app.inbox(manager).body["requests"] if r["run_id"] == run_id])
    assert found, f"{manager['email']} never saw the request in the inbox"
    return found[0]


def field_errors_then_progress(app: HostSession, ann: dict[str, Any]) -> dict[str, Any]:
    """Each bad field named; then the run starts as ann (a blank optional field is fine) and waits."""
    refused = app.submit(ann, amount=-5, description="")
    assert refused.code == 422, refused.body
    assert {"input.amount", "input.description"} <= set(refused.body["error"]["details"]["fields"])
    started = app.submit(ann)
    assert started.code == 202, started.body
    run = eventually(lambda: (r := app.run(ann, started.body["run_id"]).body).get("status") == "waiting" and r)
    assert run and run["requests"][0]["status"] == "pending", run
    assert run["started_by"] == ann["email"]
    return run


HARD_TEXT = 'a "quoted" word, a backslash \\ (C:\\tmp\\new) and\na second line'  # what breaks JSON templates


def approve_and_reject(app: HostSession, ann: dict[str, Any], bob: dict[str, Any]) -> None:
    """Approve approves and Reject rejects, with the comment exactly as typed: a double quote, a backslash and a
    newline in it (what a host that pastes text into a JSON body breaks on)."""
    for button, resolution in (("approve", "Approve"), ("reject", "Reject")):
        request = waiting_request(app, ann, bob)
        comment = f'{resolution}d by {bob["email"]}: {HARD_TEXT}'
        answer = app.decide(button, bob, request, comment)
        assert answer.code == 200, answer.body
        assert answer.body["resolution"] == resolution
        run = eventually(lambda r=request: (x := app.run(ann, r["run_id"]).body).get("status") == "completed" and x)
        decision = run["decisions"][0]
        assert (decision["resolution"], decision["actor"], decision["comment"]) == (resolution, bob["email"], comment)
        assert run["output"]["approved"] is (resolution == "Approve")


def race(app: HostSession, ann: dict[str, Any], bob: dict[str, Any], carol: dict[str, Any]) -> None:
    """Both managers see the request; the second decision is a 409 naming who decided first."""
    request = waiting_request(app, ann, bob)
    assert any(r["id"] == request["id"] for r in app.inbox(carol).body["requests"])
    first = app.decide("approve", bob, request)
    second = app.decide("reject", carol, request)
    assert first.code == 200, first.body
    assert second.code == 409, second.body
    assert bob["email"] in second.body["error"]["message"], second.body
    # when, as a person reads it (the details keep the exact time)
    assert re.search(r" at \d{4}-\d\d-\d\d \d\d:\d\d UTC$", second.body["error"]["message"]), second.body


def refused(app: HostSession, ann: dict[str, Any], bob: dict[str, Any], dave: dict[str, Any]) -> None:
    """Someone outside ``managers`` cannot decide, and the answer says so in words."""
    request = waiting_request(app, ann, bob)
    answer = app.decide("approve", dave, request)
    assert answer.code in (403, 404), answer.body
    assert answer.body["error"]["message"], answer.body


def history(app: HostSession, ann: dict[str, Any]) -> None:
    """Every filter, a second page, a cancel and a retry linked to its run."""
    started = [app.submit(ann, description=f"History {n}").body["run_id"] for n in range(3)]
    assert eventually(lambda: {r["id"] for r in app.runs(ann, started_by=ann["email"], status="waiting")
                               .body["runs"]} >= set(started))
    window = app.runs(ann, query="submit_expense", since="2000-01-01T00:00:00Z", until="2999-01-01T00:00:00Z")
    assert window.code == 200 and window.body["runs"], window.body
    assert not app.runs(ann, started_by=ann["email"], until="2000-01-01T00:00:00Z").body["runs"]
    wrong = app.runs(ann, status="sleeping")
    assert wrong.code == 422 and "status" in wrong.body["error"]["details"]["fields"], wrong.body
    page_one = app.runs(ann, started_by=ann["email"], limit="2").body
    assert len(page_one["runs"]) == 2 and page_one["next_cursor"], page_one
    page_two = app.runs(ann, page_one["next_cursor"], started_by=ann["email"], limit="2").body
    assert page_two["runs"] and not {r["id"] for r in page_one["runs"]} & {r["id"] for r in page_two["runs"]}

    cancelled = app.cancel(ann, started[0])
    assert cancelled.code == 200, cancelled.body
    assert eventually(lambda: app.run(ann, started[0]).body["status"] == "cancelled")
    retried = app.retry(ann, started[0])
    assert retried.code == 202, retried.body
    assert app.run(ann, retried.body["run_id"]).body["retry_of"] == started[0]
