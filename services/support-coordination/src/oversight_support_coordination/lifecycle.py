"""A support package's lifecycle: who may move it on, from which status, and what each move records.

Pure rules in the style of eShop's Order aggregate and Dispatch's case flows: the service loads a
package's state, calls ``transition`` and stores what comes back, the new state and the change
records it turns into timeline rows and events. A move the status does not allow raises the
runtime's ``Rejected`` (422) naming the status and the actions it allows; an actor whose role or
organisation may not take the action raises ``Forbidden`` (403). Either way nothing changes.

Statuses and the actions each allows (``ALLOWED``)::

    draft          edit, propose -> proposed, comment, withdraw -> withdrawn
    proposed       edit, sign_off (-> agreed on the second side), comment, withdraw
    agreed         acknowledge, comment, start_delivery -> in_delivery, withdraw, escalate -> escalated
    in_delivery    acknowledge, comment, propose_exit -> exit_proposed, escalate
    exit_proposed  comment, decline_exit -> in_delivery, confirm_exit -> exited, escalate
    escalated      edit, sign_off (-> in_delivery, or agreed if delivery never started), comment, withdraw
    exited         comment
    withdrawn      comment

The rules and their sources (seed 003 unless named):

- A package is agreed by the ICS and the region together: an ``ics_lead`` of one of the provider's
  ICBs and a ``regional_decider`` of its region sign off, in either order, and the second sign-off
  agrees it (para 32: regional teams work with system leaders; Kerr rec 1.6: the ICS lead and
  national bodies agree the "new deal"). Proposing and signing off need the new deal's parts: a
  shared view of the problem, a plan, an exit strategy and review dates (Kerr rec 1.6a).
- A sign-off is agreement to the package as it stood, so an edit that changes anything withdraws
  every sign-off given, each recorded (para 32).
- The trust acknowledges an agreed or in-delivery package: it is worked out with the provider
  (para 32) and shared (Kerr rec 1.6a), but acknowledging is not a veto and agreement does not wait.
- Anyone whose organisation oversees the provider may comment, the trust included (para 4, the
  "single conversation"; seed 001, a two-way conversation). Comments are allowed in every status,
  exited and withdrawn too: a comment changes no state, and reflections after exit belong on the
  timeline. NHS England national viewers see every package but change nothing (access.yaml), so
  they cannot comment.
- Delivery starts by the regional decider or the ICS lead (para 32: co-ordinated with system
  leaders). Monitoring (the system) or the regional decider proposes exit (para 30, seed 002:
  exit criteria); the regional decider confirms it or declines it back into delivery (para 27:
  the regional team decides). The regional decider withdraws a package not yet in delivery, or an
  escalated one being replaced, e.g. by mandated support after a move to segment 3 (Table 2).
- Escalation (by monitoring or the regional decider, ``monitoring``: seed 002, recovery KPIs and
  trajectories are monitored; para 24, delivery against a recovery trajectory; para 30) means the
  plan no longer fits: the sign-offs and acknowledgements lapse, and the ICS and region re-agree
  it with the same two sign-offs, after which delivery resumes (or the package is agreed again if
  delivery had not started).
- Repeating an act changes nothing and records nothing (the same user signing off or acknowledging
  twice, an edit to the same values), so a retried request is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple
from uuid import UUID

from oversight_contracts import Actor, PackageStatus
from oversight_contracts.frameworks import Direction
from oversight_runtime.access import Principal
from oversight_runtime.errors import Forbidden, Problem, Rejected


class PackageAction(StrEnum):
    EDIT = "edit"
    PROPOSE = "propose"
    SIGN_OFF = "sign_off"
    ACKNOWLEDGE = "acknowledge"
    COMMENT = "comment"
    START_DELIVERY = "start_delivery"
    PROPOSE_EXIT = "propose_exit"
    DECLINE_EXIT = "decline_exit"
    CONFIRM_EXIT = "confirm_exit"
    WITHDRAW = "withdraw"
    ESCALATE = "escalate"


class ChangeType(StrEnum):
    """What a timeline row says happened."""

    EDITED = "edited"
    PROPOSED = "proposed"
    SIGNED_OFF = "signed_off"
    SIGN_OFF_WITHDRAWN = "sign_off_withdrawn"
    AGREED = "agreed"
    RE_AGREED = "re_agreed"
    ACKNOWLEDGED = "acknowledged"
    COMMENTED = "commented"
    DELIVERY_STARTED = "delivery_started"
    EXIT_PROPOSED = "exit_proposed"
    EXIT_DECLINED = "exit_declined"
    EXITED = "exited"
    WITHDRAWN = "withdrawn"
    ESCALATED = "escalated"
    #: Monitoring found a KPI off its trajectory or a plan item overdue (``monitoring``): recorded
    #: on the timeline and published, without moving the package.
    MILESTONE_MISSED = "milestone_missed"


_S, _A = PackageStatus, PackageAction

#: The actions each status allows, in the order error messages list them.
ALLOWED: dict[PackageStatus, tuple[PackageAction, ...]] = {
    _S.DRAFT: (_A.EDIT, _A.PROPOSE, _A.COMMENT, _A.WITHDRAW),
    _S.PROPOSED: (_A.EDIT, _A.SIGN_OFF, _A.COMMENT, _A.WITHDRAW),
    _S.AGREED: (_A.ACKNOWLEDGE, _A.COMMENT, _A.START_DELIVERY, _A.WITHDRAW, _A.ESCALATE),
    _S.IN_DELIVERY: (_A.ACKNOWLEDGE, _A.COMMENT, _A.PROPOSE_EXIT, _A.ESCALATE),
    _S.EXIT_PROPOSED: (_A.COMMENT, _A.DECLINE_EXIT, _A.CONFIRM_EXIT, _A.ESCALATE),
    _S.ESCALATED: (_A.EDIT, _A.SIGN_OFF, _A.COMMENT, _A.WITHDRAW),
    _S.EXITED: (_A.COMMENT,),
    _S.WITHDRAWN: (_A.COMMENT,),
}


@dataclass(frozen=True)
class Permission:
    """Who may take an action: platform roles (within their organisation's scope), and whether
    monitoring may take it without a person."""

    roles: tuple[str, ...]
    source: str
    system: bool = False


_TEAMS = ("ics_member", "ics_lead", "regional_member", "regional_decider")
_TRUST = ("trust_submitter", "trust_viewer")

WHO: dict[PackageAction, Permission] = {
    _A.EDIT: Permission(_TEAMS, "para 32: regional teams and system leaders determine the package"),
    _A.PROPOSE: Permission(_TEAMS, "para 32: regional teams and system leaders determine the package"),
    _A.SIGN_OFF: Permission(("ics_lead", "regional_decider"), "para 32; Kerr rec 1.6: ICS and region agree"),
    _A.ACKNOWLEDGE: Permission(_TRUST, "para 32: the package is worked out with the provider"),
    _A.COMMENT: Permission(_TRUST + _TEAMS, "para 4: a single conversation; seed 001: two-way"),
    _A.START_DELIVERY: Permission(("ics_lead", "regional_decider"), "para 32: co-ordinated support"),
    _A.PROPOSE_EXIT: Permission(("regional_decider",), "para 30; seed 002: exit criteria", system=True),
    _A.DECLINE_EXIT: Permission(("regional_decider",), "para 27: the regional team decides"),
    _A.CONFIRM_EXIT: Permission(("regional_decider",), "para 27: the regional team decides"),
    _A.WITHDRAW: Permission(("regional_decider",), "para 32: the regional team co-ordinates support"),
    _A.ESCALATE: Permission(("regional_decider",), "para 30; seed 002: trajectories monitored", system=True),
}

#: Actions whose reason the timeline needs: the comment itself, or why the package changed course.
NEEDS_REASON = frozenset({_A.COMMENT, _A.WITHDRAW, _A.ESCALATE, _A.DECLINE_EXIT})


# --- the package's content ---------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    """A KPI's target for one reporting period (``YYYY-MM``)."""

    period: str
    target: float


@dataclass(frozen=True)
class Kpi:
    """A recovery KPI and its trajectory (seed 002: recovery KPIs and trajectories are agreed):
    a metric of the framework pack, where it started (``baseline``) and a target per period."""

    metric: str
    direction: Direction
    trajectory: tuple[Milestone, ...]
    baseline: float | None = None


class PlanItemStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(frozen=True)
class PlanItem:
    """One thing the package will do: who owns it, what support it draws on (a catalogue offer or
    a peer provider, paras 34-35) and by when. ``needs`` names every need it addresses: several
    when they share an underlying cause, so the support aims at the cause (para 33)."""

    id: UUID
    action: str
    needs: tuple[UUID, ...]
    owner: str
    offer: str | None = None
    peer: str | None = None
    due: date | None = None
    status: PlanItemStatus = PlanItemStatus.PLANNED


@dataclass(frozen=True)
class ExitCriterion:
    """What must be true to leave the package; ``clears`` names the triggers (a code, or a
    trigger's key such as ``code:metric``) that must no longer be active. Without any, only a
    person can judge it. ``source`` says where a default criterion came from (the triggers behind
    the need, or a segment proposal's pathway); it is empty for one the teams wrote, and a draft's
    criteria follow the latest pathway only while none was written by the teams."""

    description: str
    clears: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class PackagePlan:
    """The "new deal" (Kerr rec 1.6): the problem, the plan, the support, how success is measured
    and when the package is reviewed."""

    problem_statement: str = ""
    plan_items: tuple[PlanItem, ...] = ()
    #: Catalogue offer ids the package draws on (paras 33-35).
    offers: tuple[str, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    exit_criteria: tuple[ExitCriterion, ...] = ()
    review_dates: tuple[date, ...] = ()


#: What a package must say before it is put forward or signed off (Kerr rec 1.6a).
REQUIRED_FOR_AGREEMENT = ("problem_statement", "plan_items", "exit_criteria", "review_dates")


@dataclass(frozen=True)
class PackageEdit:
    """The fields an edit replaces; None leaves a field as it is."""

    problem_statement: str | None = None
    plan_items: tuple[PlanItem, ...] | None = None
    offers: tuple[str, ...] | None = None
    kpis: tuple[Kpi, ...] | None = None
    exit_criteria: tuple[ExitCriterion, ...] | None = None
    review_dates: tuple[date, ...] | None = None

    def changes(self, plan: PackagePlan) -> dict[str, Any]:
        """The fields this edit would change, with their new values."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: v for name, v in given.items() if v is not None and v != getattr(plan, name)}


# --- the package's state -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOff:
    role_kind: Literal["ics", "region"]
    organisation: str
    user: str
    at: datetime


@dataclass(frozen=True)
class Acknowledgement:
    organisation: str
    user: str
    at: datetime


@dataclass(frozen=True)
class PackageState:
    """What the lifecycle rules read: the package's provider and co-owners, status and content."""

    provider: str
    icbs: tuple[str, ...]
    region: str
    status: PackageStatus = PackageStatus.DRAFT
    plan: PackagePlan = PackagePlan()
    sign_offs: tuple[SignOff, ...] = ()
    acknowledged_by: tuple[Acknowledgement, ...] = ()
    status_changed_at: datetime | None = None
    agreed_at: datetime | None = None
    delivery_started_at: datetime | None = None

    def signed_by(self) -> set[str]:
        """The sides (``ics``, ``region``) that have signed off."""
        return {s.role_kind for s in self.sign_offs}


@dataclass(frozen=True)
class SystemActor:
    """The platform acting by itself, e.g. monitoring proposing exit or escalating."""

    name: str


MONITORING = SystemActor("monitoring")


@dataclass(frozen=True)
class Change:
    """One thing that happened to a package: the service turns it into a timeline row and event."""

    type: ChangeType
    actor: Actor | SystemActor
    at: datetime
    status_from: PackageStatus
    status_to: PackageStatus
    reason: str | None = None
    details: Mapping[str, str] = field(default_factory=dict, hash=False)


class Outcome(NamedTuple):
    state: PackageState
    changes: list[Change]


# --- the one entry point -------------------------------------------------------------------------

_ACTION_LOC = ("body", "action")


def transition(
    state: PackageState,
    action: PackageAction,
    actor: Principal | SystemActor,
    *,
    now: datetime,
    reason: str | None = None,
    edit: PackageEdit | None = None,
    details: Mapping[str, str] | None = None,
) -> Outcome:
    """Take ``action`` on the package for ``actor``: the new state and what to record.

    ``details`` go on the step's own change record, e.g. why monitoring escalated
    (``{"cause": "missed_milestones"}``, read by the escalation event).

    Raises ``Forbidden`` when the actor may not take the action on this provider's package, and
    ``Rejected`` when the status does not allow it or its input is missing."""
    by = _authorise(state, action, actor)
    if action not in ALLOWED[state.status]:
        allowed = ", ".join(ALLOWED[state.status])
        raise Rejected.field(
            _ACTION_LOC,
            f"cannot {action}: package is {state.status}; allowed: {allowed}",
            "action_not_allowed",
        )
    reason = reason.strip() if reason and reason.strip() else None
    if action in NEEDS_REASON and reason is None:
        raise Rejected.field(
            ("body", "reason"), f"{action} needs a reason for the timeline", "reason_required"
        )
    return _STEPS[action](_Act(state, by, now, reason, edit, dict(details or {})))


def allowed_actions(status: PackageStatus) -> tuple[PackageAction, ...]:
    return ALLOWED[status]


def _authorise(
    state: PackageState, action: PackageAction, actor: Principal | SystemActor
) -> Actor | SystemActor:
    """The actor as recorded, once its role and organisation may take ``action`` on this package."""
    rule = WHO[action]
    if isinstance(actor, SystemActor):
        if not rule.system:
            raise _forbidden(
                f"{actor.name} may not {action}: it needs {' or '.join(rule.roles)} ({rule.source})"
            )
        return actor
    role = next((r for r in actor.roles if r in rule.roles), None)
    if role is None:
        raise _forbidden(
            f"{actor.describe()} may not {action} a support package: it needs "
            f"{' or '.join(rule.roles)} ({rule.source})",
            "action_not_permitted",
        )
    if not _oversees(actor, state):
        raise _forbidden(
            f"{actor.organisation} is not {state.provider}, one of its ICBs ({', '.join(state.icbs)}) "
            f"or its region ({state.region}): {actor.describe()} cannot {action} its package",
            "out_of_scope",
        )
    return Actor(user_id=actor.user_id, name=actor.name, organisation=actor.organisation, role=role)


def _oversees(principal: Principal, state: PackageState) -> bool:
    kind, organisation = principal.organisation_kind, principal.organisation
    return (
        (kind == "provider" and organisation == state.provider)
        or (kind == "icb" and organisation in state.icbs)
        or (kind == "region" and organisation == state.region)
    )


def _forbidden(msg: str, type_: str = "action_not_permitted") -> Forbidden:
    return Forbidden(Problem(_ACTION_LOC, msg, type_))


# --- one step per action ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Act:
    state: PackageState
    by: Actor | SystemActor
    now: datetime
    reason: str | None
    edit: PackageEdit | None
    #: What the caller adds to the step's record (``transition``'s ``details``).
    details: Mapping[str, str] = field(default_factory=dict)

    def change(self, type_: ChangeType, to: PackageStatus | None = None, **details: str) -> Change:
        status = self.state.status
        return Change(
            type_, self.by, self.now, status, to or status, self.reason, {**self.details, **details}
        )

    def moved(self, to: PackageStatus, type_: ChangeType, **values: Any) -> Outcome:
        """The package moved to ``to`` (with ``values`` set), recorded as ``type_``."""
        state = replace(self.state, status=to, status_changed_at=self.now, **values)
        return Outcome(state, [self.change(type_, to)])


def _edit(act: _Act) -> Outcome:
    if act.edit is None:
        raise Rejected.field(("body", "edit"), "an edit needs the fields to change", "edit_required")
    changed = act.edit.changes(act.state.plan)
    if not changed:
        return Outcome(act.state, [])
    state = replace(act.state, plan=replace(act.state.plan, **changed), sign_offs=())
    withdrawn = [
        Change(
            ChangeType.SIGN_OFF_WITHDRAWN,
            act.by,
            act.now,
            act.state.status,
            act.state.status,
            "the package changed after this sign-off: agreement is to the package as it stands (para 32)",
            {"role_kind": s.role_kind, "organisation": s.organisation, "user": s.user},
        )
        for s in act.state.sign_offs
    ]
    return Outcome(state, [act.change(ChangeType.EDITED, fields=", ".join(sorted(changed))), *withdrawn])


def _require_complete(plan: PackagePlan) -> None:
    missing = [name for name in REQUIRED_FOR_AGREEMENT if not getattr(plan, name)]
    if missing:
        raise Rejected(
            *(
                Problem(
                    ("package", name),
                    "must be set before the package is agreed (Kerr rec 1.6a)",
                    "package_incomplete",
                )
                for name in missing
            )
        )


def _propose(act: _Act) -> Outcome:
    _require_complete(act.state.plan)
    return act.moved(_S.PROPOSED, ChangeType.PROPOSED)


def _sign_off(act: _Act) -> Outcome:
    _require_complete(act.state.plan)
    assert isinstance(act.by, Actor)  # sign-off is never the system's (WHO)
    if any(s.user == act.by.user_id for s in act.state.sign_offs):
        return Outcome(act.state, [])
    kind: Literal["ics", "region"] = "ics" if act.by.role == "ics_lead" else "region"
    signed = SignOff(kind, act.by.organisation, act.by.user_id, act.now)
    state = replace(act.state, sign_offs=(*act.state.sign_offs, signed))
    changes = [act.change(ChangeType.SIGNED_OFF, role_kind=kind, organisation=act.by.organisation)]
    if state.signed_by() != {"ics", "region"}:
        return Outcome(state, changes)
    to, type_ = _S.AGREED, ChangeType.AGREED
    if act.state.status == _S.ESCALATED:  # re-agreed: back to where the package was going
        to, type_ = (_S.IN_DELIVERY if act.state.delivery_started_at else _S.AGREED), ChangeType.RE_AGREED
    state = replace(state, status=to, status_changed_at=act.now, agreed_at=act.now)
    return Outcome(state, [*changes, act.change(type_, to)])


def _acknowledge(act: _Act) -> Outcome:
    assert isinstance(act.by, Actor)  # acknowledging is the trust's (WHO)
    if any(a.user == act.by.user_id for a in act.state.acknowledged_by):
        return Outcome(act.state, [])
    seen = Acknowledgement(act.by.organisation, act.by.user_id, act.now)
    state = replace(act.state, acknowledged_by=(*act.state.acknowledged_by, seen))
    return Outcome(state, [act.change(ChangeType.ACKNOWLEDGED)])


def _comment(act: _Act) -> Outcome:
    return Outcome(act.state, [act.change(ChangeType.COMMENTED)])


_STEPS: dict[PackageAction, Callable[[_Act], Outcome]] = {
    _A.EDIT: _edit,
    _A.PROPOSE: _propose,
    _A.SIGN_OFF: _sign_off,
    _A.ACKNOWLEDGE: _acknowledge,
    _A.COMMENT: _comment,
    _A.START_DELIVERY: lambda a: a.moved(
        _S.IN_DELIVERY, ChangeType.DELIVERY_STARTED, delivery_started_at=a.now
    ),
    _A.PROPOSE_EXIT: lambda a: a.moved(_S.EXIT_PROPOSED, ChangeType.EXIT_PROPOSED),
    _A.DECLINE_EXIT: lambda a: a.moved(_S.IN_DELIVERY, ChangeType.EXIT_DECLINED),
    _A.CONFIRM_EXIT: lambda a: a.moved(_S.EXITED, ChangeType.EXITED),
    _A.WITHDRAW: lambda a: a.moved(_S.WITHDRAWN, ChangeType.WITHDRAWN),
    # The plan no longer fits: its sign-offs and acknowledgements lapse until it is re-agreed.
    _A.ESCALATE: lambda a: a.moved(_S.ESCALATED, ChangeType.ESCALATED, sign_offs=(), acknowledged_by=()),
}


# --- exit --------------------------------------------------------------------------------------


def follow_pathway(
    state: PackageState, criteria: tuple[ExitCriterion, ...], *, now: datetime, reason: str
) -> Outcome:
    """A draft's exit criteria replaced by a new pathway's (seed 001: a clear pathway out), by
    monitoring, not a person: only while the package is a draft whose criteria no one has
    written (every one has a ``source``), so the teams' words and anything put forward or agreed
    are never rewritten. Otherwise, or when nothing would change, nothing happens."""
    plan = state.plan
    if state.status != PackageStatus.DRAFT or not all(c.source for c in plan.exit_criteria):
        return Outcome(state, [])
    if not criteria or criteria == plan.exit_criteria:
        return Outcome(state, [])
    act = _Act(replace(state, plan=replace(plan, exit_criteria=criteria)), MONITORING, now, reason, None, {})
    return Outcome(act.state, [act.change(ChangeType.EDITED, fields="exit_criteria")])


def exit_criteria_met(criteria: Sequence[ExitCriterion], active_trigger_ids: Collection[str]) -> bool:
    """Whether monitoring may propose exit: every criterion names the triggers it clears and none
    of them is still active (seed 002: exit criteria; seed 001: a clear pathway out).

    Active triggers are codes, optionally with their metric (``operational_standard_failed:
    op_ae_4hr_pct``); a criterion naming the bare code is held open by any of them. A criterion
    naming no trigger needs a person's judgement, and no criteria at all is no exit strategy, so
    both are never met here: the regional decider proposes exit instead."""
    active = {*active_trigger_ids, *(t.split(":", 1)[0] for t in active_trigger_ids)}
    return bool(criteria) and all(c.clears and active.isdisjoint(c.clears) for c in criteria)
