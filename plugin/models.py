"""Dataclasses that cross the workflow boundary: run input, requests, decisions, audit, run state.

Workflow code imports this module, so it holds nothing but plain data.
"""

import re
from dataclasses import dataclass, field
from typing import Any

PENDING = "pending"
RESOLVED = "resolved"
EXPIRED = "expired"
CANCELLED = "cancelled"
REQUEST_STATUSES = (PENDING, RESOLVED, EXPIRED, CANCELLED)


@dataclass
class RunInput:
    """What every plugin workflow receives: the caller's data and who asked for the run."""

    data: dict[str, Any]
    query: str = ""
    started_by: str = ""
    app: str = ""
    # Node-based runs: the definition pinned at start (content and sha256 version), and the definitions
    # its ``call`` steps name, pinned with it.
    definition: dict[str, Any] | None = None
    definition_version: str = ""
    linked_definitions: dict[str, Any] = field(default_factory=dict)
    # Request defaults in force when the run started (settings page), pinned: requests that set no due time
    # or reminders get these ({due_in_seconds, remind_every_seconds, max_reminders}).
    request_defaults: dict[str, Any] = field(default_factory=dict)
    # Node-based runs: the call defaults (``retry``) of the connections their steps use, pinned at start.
    connection_defaults: dict[str, Any] = field(default_factory=dict)
    # The workspace's SLA policies and calendars, pinned at start ({policy: the query's own or "", policies,
    # calendars, version}): a later edit of the workspace never changes a running request's times.
    sla: dict[str, Any] = field(default_factory=dict)


@dataclass
class Identity:
    """Who is acting (user email and groups), whether with an admin key, and how that was proven.

    ``via`` is ``oidc`` (a user token), ``proxy`` (an identity-aware proxy's assertion), ``headers`` (trusted
    headers) or ``link`` (a signed approval link); ``issuer`` the token's issuer where there is one.
    """

    user: str = ""
    groups: list[str] = field(default_factory=list)
    is_admin: bool = False
    via: str = ""
    issuer: str = ""


FORM_FIELD_TYPES = ("string", "number", "integer", "boolean", "select")


@dataclass
class FormField:
    """A field the person deciding must fill in; its value arrives in the decision's payload."""

    name: str
    label: str = ""
    type: str = "string"
    required: bool = True
    options: list[str] = field(default_factory=list)
    max_length: int = 2000


@dataclass
class AssignRequest:
    """Options of one human request: the Python twin of Appsmith's ``assignRequest``.

    Durations are in seconds. With ``due_in_seconds`` the request ends when time runs out: resolved as
    ``due_resolution`` when one is given, otherwise expired (and ``assign_request`` raises).
    """

    name: str
    resolutions: list[str]
    message: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    required_approvals: int = 1
    # Resolutions that end the request at once, whatever the quorum; None: every resolution but the first.
    rejecting_resolutions: list[str] | None = None
    allow_self_approval: bool = False
    form: list[FormField] = field(default_factory=list)
    due_in_seconds: float | None = None
    due_resolution: str | None = None
    remind_every_seconds: float | None = None
    max_reminders: int = 3
    escalate_after_seconds: float | None = None
    escalate_to_users: list[str] = field(default_factory=list)
    escalate_to_groups: list[str] = field(default_factory=list)
    # A named SLA policy of the workspace (due time, reminders, escalation levels, outcome at expiry, in business
    # hours on its calendar): instead of the timing options above. See plugin/engine/sla/.
    sla_policy: str | None = None


@dataclass
class Decision:
    """One person's decision on a request."""

    actor: str
    resolution: str
    at: str
    comment: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    via: str = ""
    issuer: str = ""
    # What the person was shown (plugin.engine.evidence): message, metadata, form, resolutions, version, and the
    # SHA-256 of its canonical JSON. Empty for decisions made before evidence was recorded.
    evidence: dict[str, Any] = field(default_factory=dict)
    evidence_sha256: str = ""
    # The absent assignee the actor decided for (out of office), as the API vouched; empty for one's own.
    acting_for: str = ""


@dataclass
class SlaEscalation:
    """One escalation level of an SLA policy, as applied to a request: when, and who is added then."""

    after: str  # business time after the request opened, as the policy says it ("8h")
    at: str  # the moment (UTC, ISO 8601) that business time is reached on the calendar
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    done: bool = False


# ``via`` of a decision an SLA policy made at the due time (auto-approve, auto-reject), whose actor is ``system``.
SLA_DECISION_VIA = "sla_policy"


@dataclass
class SlaApplied:
    """The SLA policy a request follows and the times it computed when the request opened (UTC, ISO 8601).

    ``at_expiry`` is ``expire``, ``auto_approve`` or ``auto_reject``; the last two resolve the request as
    ``expiry_resolution``, recorded as a decision by ``system``. ``version`` is the digest of the pinned
    policies and calendars the times were computed from.
    """

    policy: str
    calendar: str
    time_zone: str
    due_at: str | None
    remind_at: list[str] = field(default_factory=list)
    escalations: list[SlaEscalation] = field(default_factory=list)
    at_expiry: str = "expire"
    expiry_resolution: str | None = None
    version: str = ""


@dataclass
class HumanRequest:
    """A request as the workflow holds it; ``version`` grows with every change."""

    id: str
    run_id: str
    query: str
    name: str
    message: str
    metadata: dict[str, Any]
    resolutions: list[str]
    users: list[str]
    groups: list[str]
    required_approvals: int
    rejecting_resolutions: list[str]
    allow_self_approval: bool
    requester: str
    created_at: str
    status: str = PENDING
    resolution: str | None = None
    resolved_at: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    version: int = 1
    form: list[FormField] = field(default_factory=list)
    due_at: str | None = None
    due_resolution: str | None = None
    remind_every_seconds: float | None = None
    max_reminders: int = 0
    reminders_sent: int = 0
    escalate_at: str | None = None
    escalate_to_users: list[str] = field(default_factory=list)
    escalate_to_groups: list[str] = field(default_factory=list)
    escalated: bool = False
    sla: SlaApplied | None = None  # the SLA policy that set this request's times, when one did


def chain_tag(first_execution_run_id: str) -> str:
    """What tells apart runs reusing one workflow id: the tail (random part) of the first execution's run id.
    It survives continue-as-new, so a carried request keeps its id."""
    return first_execution_run_id.replace("-", "")[-12:]


def request_id_for(run_id: str, first_execution_run_id: str, seq: int) -> str:
    """A request's id: ``{run_id}:{chain tag}-{n}``."""
    return f"{run_id}:{chain_tag(first_execution_run_id)}-{seq}"


_REQUEST_SUFFIX = re.compile(r"^([0-9a-f]{12})-\d+$")


def parse_request_id(request_id: str) -> tuple[str, str] | None:
    """(run id, chain tag) of a request id, or None when it is not one of ours."""
    run_id, sep, suffix = request_id.rpartition(":")
    match = _REQUEST_SUFFIX.match(suffix)
    return (run_id, match.group(1)) if sep and run_id and match else None


def request_from_doc(doc: dict[str, Any]) -> HumanRequest:
    """A HumanRequest from its JSON document (as the inbox stores it)."""
    return HumanRequest(**{**doc, "decisions": [Decision(**d) for d in doc.get("decisions", [])],
                           "form": [FormField(**f) for f in doc.get("form", [])],
                           "sla": sla_from_doc(doc.get("sla"))})


@dataclass
class RequestOutcome:
    """What ``assign_request`` returns once a request is decided."""

    request_id: str
    resolution: str
    decided_by: list[str]
    decided_at: str
    comment: str
    payload: dict[str, Any]
    decisions: list[Decision]


@dataclass
class ResolveInput:
    """The body of the ``resolve_request`` update."""

    request_id: str
    resolution: str
    identity: Identity
    comment: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    # HMAC from the API (plugin.engine.update_auth); checked by the worker when a decision secret is set.
    mac: str = ""
    # The absent assignee this decision is made for: set only by the API, which checked the absence (the
    # workflow cannot read it); covered by ``mac``.
    acting_for: str = ""


@dataclass
class ReassignInput:
    """The body of the ``reassign_request`` update: the new assignees replace the old ones."""

    request_id: str
    identity: Identity
    to_users: list[str] = field(default_factory=list)
    to_groups: list[str] = field(default_factory=list)
    comment: str = ""
    # HMAC from the API (plugin.engine.update_auth); checked by the worker when a decision secret is set.
    mac: str = ""


@dataclass
class CancelRequestInput:
    """The body of the ``cancel_request`` update (admins only)."""

    request_id: str
    identity: Identity
    comment: str = ""
    # HMAC from the API (plugin.engine.update_auth); checked by the worker when a decision secret is set.
    mac: str = ""


@dataclass
class Notification:
    """What the notification hook receives: a request was assigned, is overdue, escalated or ended."""

    kind: str
    request: HumanRequest
    recipients_users: list[str]
    recipients_groups: list[str]


@dataclass
class AuditEntry:
    """One line of a run's audit trail."""

    at: str
    actor: str
    action: str
    request_id: str = ""
    comment: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunState:
    """What the ``run_state`` query answers: the run's requests and audit trail."""

    run_id: str
    query: str
    started_by: str
    requests: list[HumanRequest]
    audit: list[AuditEntry]
    request_seq: int = 0


def sla_from_doc(doc: dict[str, Any] | None) -> SlaApplied | None:
    """An SlaApplied from its JSON document (None stays None)."""
    if not doc:
        return None
    return SlaApplied(**{**doc, "escalations": [SlaEscalation(**e) for e in doc.get("escalations", [])]})
