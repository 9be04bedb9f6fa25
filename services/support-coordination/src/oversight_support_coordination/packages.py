"""Between the stored package and the lifecycle's pure state: read a row as a ``PackageState``,
write a new state back, and turn each ``Change`` into a timeline row.

Routes and handlers only load, call ``lifecycle.transition`` and store through here
(``record_outcome``): the new state, a timeline row and an event per change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from oversight_contracts import (
    Actor,
    Envelope,
    PackageStatus,
    SupportPackageAcknowledged,
    SupportPackageAgreed,
    SupportPackageAgreedData,
    SupportPackageChangeData,
    SupportPackageCommentAdded,
    SupportPackageCommentAddedData,
    SupportPackageDeliveryStarted,
    SupportPackageEdited,
    SupportPackageEditedData,
    SupportPackageEscalated,
    SupportPackageEscalatedData,
    SupportPackageExitDeclined,
    SupportPackageExited,
    SupportPackageExitProposed,
    SupportPackageExitProposedData,
    SupportPackageMilestoneMissed,
    SupportPackageMilestoneMissedData,
    SupportPackagePutForward,
    SupportPackagePutForwardData,
    SupportPackageSignedOff,
    SupportPackageSignOffData,
    SupportPackageSignOffWithdrawn,
    SupportPackageWithdrawn,
)
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_support_coordination.domain import SOURCE
from oversight_support_coordination.lifecycle import (
    Acknowledgement,
    Change,
    ChangeType,
    Outcome,
    PackagePlan,
    PackageState,
    SignOff,
)
from oversight_support_coordination.storage import PackageTimelineEntry, SupportPackage

PLAN = TypeAdapter(PackagePlan)
SIGN_OFFS = TypeAdapter(tuple[SignOff, ...])
ACKNOWLEDGEMENTS = TypeAdapter(tuple[Acknowledgement, ...])


def plan_of(row: SupportPackage) -> PackagePlan:
    return PLAN.validate_python(row.plan) if row.plan else PackagePlan()


def state_of(row: SupportPackage) -> PackageState:
    return PackageState(
        provider=row.provider,
        icbs=tuple(row.icbs),
        region=row.region,
        status=PackageStatus(row.status),
        plan=plan_of(row),
        sign_offs=SIGN_OFFS.validate_python(row.sign_offs),
        acknowledged_by=ACKNOWLEDGEMENTS.validate_python(row.acknowledged_by),
        status_changed_at=row.status_changed_at,
        agreed_at=row.agreed_at,
        delivery_started_at=row.delivery_started_at,
    )


def store_plan(row: SupportPackage, plan: PackagePlan) -> None:
    row.plan = PLAN.dump_python(plan, mode="json")


def store_state(row: SupportPackage, state: PackageState) -> None:
    """Write ``state`` into ``row`` (its version is bumped by the update: see ``storage``)."""
    row.status = state.status.value
    store_plan(row, state.plan)
    row.sign_offs = list(SIGN_OFFS.dump_python(state.sign_offs, mode="json"))
    row.acknowledged_by = list(ACKNOWLEDGEMENTS.dump_python(state.acknowledged_by, mode="json"))
    row.status_changed_at = state.status_changed_at
    row.agreed_at = state.agreed_at
    row.delivery_started_at = state.delivery_started_at


def timeline_row(
    package_id: UUID, change: Change, *, cause_event_id: UUID | None, correlation_id: UUID | None
) -> dict[str, Any]:
    """The timeline row for one change, as ``uow.insert_later`` takes it."""
    actor, by = None, "monitoring"
    if isinstance(change.actor, Actor):
        actor = change.actor.model_dump(mode="json")
        by = f"{change.actor.name} ({change.actor.role}, {change.actor.organisation})"
    moved = f": {change.status_from} → {change.status_to}" if change.status_from != change.status_to else ""
    return {
        "package_id": package_id,
        "kind": change.type.value,
        "detail": f"{change.type.value.replace('_', ' ')} by {by}{moved}",
        "at": change.at,
        "status": change.status_to.value,
        "actor": actor,
        "reason": change.reason,
        "details": dict(change.details),
        "cause_event_id": cause_event_id,
        "correlation_id": correlation_id,
    }


# --- every change is also an event ---------------------------------------------------------------

#: The event each change type publishes, with the payload it carries.
_EVENTS: dict[ChangeType, tuple[type[Envelope[Any]], type[SupportPackageChangeData]]] = {
    ChangeType.PROPOSED: (SupportPackagePutForward, SupportPackagePutForwardData),
    ChangeType.EDITED: (SupportPackageEdited, SupportPackageEditedData),
    ChangeType.SIGNED_OFF: (SupportPackageSignedOff, SupportPackageSignOffData),
    ChangeType.SIGN_OFF_WITHDRAWN: (SupportPackageSignOffWithdrawn, SupportPackageSignOffData),
    ChangeType.AGREED: (SupportPackageAgreed, SupportPackageAgreedData),
    ChangeType.RE_AGREED: (SupportPackageAgreed, SupportPackageAgreedData),
    ChangeType.ACKNOWLEDGED: (SupportPackageAcknowledged, SupportPackageChangeData),
    ChangeType.COMMENTED: (SupportPackageCommentAdded, SupportPackageCommentAddedData),
    ChangeType.DELIVERY_STARTED: (SupportPackageDeliveryStarted, SupportPackageChangeData),
    ChangeType.EXIT_PROPOSED: (SupportPackageExitProposed, SupportPackageExitProposedData),
    ChangeType.EXIT_DECLINED: (SupportPackageExitDeclined, SupportPackageChangeData),
    ChangeType.EXITED: (SupportPackageExited, SupportPackageChangeData),
    ChangeType.WITHDRAWN: (SupportPackageWithdrawn, SupportPackageChangeData),
    ChangeType.ESCALATED: (SupportPackageEscalated, SupportPackageEscalatedData),
    ChangeType.MILESTONE_MISSED: (SupportPackageMilestoneMissed, SupportPackageMilestoneMissedData),
}

#: Every event a package's changes publish (after the draft's ``support_package.proposed.v2``),
#: the missed milestones monitoring publishes included.
PUBLISHED: list[type[Envelope[Any]]] = list(dict.fromkeys(event for event, _payload in _EVENTS.values()))

#: Freezes what an agreement rests on into the package (the API's, which knows the case).
Basis = Callable[[UnitOfWork, SupportPackage], Awaitable[dict[str, Any]]]


async def record_outcome(
    uow: UnitOfWork,
    row: SupportPackage,
    outcome: Outcome,
    *,
    cause: Envelope[Any] | None = None,
    correlation_id: UUID | None = None,
    basis: Basis | None = None,
) -> list[Envelope[Any]]:
    """Store a transition's outcome in ``row``, freeze what an agreement rests on (``basis``),
    and record every change (``record_changes``): the one path for the API's and monitoring's
    changes alike."""
    if not outcome.changes:
        return []  # a repeat: nothing changed, nothing to record
    store_state(row, outcome.state)
    if any(c.type in (ChangeType.AGREED, ChangeType.RE_AGREED) for c in outcome.changes):
        if basis is None:
            raise ValueError("an agreement freezes what it rests on: pass its basis")
        row.basis = await basis(uow, row)
    return record_changes(
        uow, row, outcome.changes, outcome.state.plan, cause=cause, correlation_id=correlation_id
    )


def record_changes(
    uow: UnitOfWork,
    row: SupportPackage,
    changes: Sequence[Change],
    plan: PackagePlan,
    *,
    cause: Envelope[Any] | None = None,
    correlation_id: UUID | None = None,
) -> list[Envelope[Any]]:
    """A timeline row and an event for every change, in ``uow``'s transaction; the event that
    caused them (monitoring's) or the request's correlation id (a person's) goes on both.
    Returns the events published."""
    correlation = cause.correlation_id if cause is not None else correlation_id
    cause_id = cause.id if cause is not None else None
    events = []
    for change in changes:
        uow.insert_later(
            PackageTimelineEntry,
            timeline_row(row.id, change, cause_event_id=cause_id, correlation_id=correlation),
        )
        event = event_for(
            change, row, extra=extra_for(change, row, plan), cause=cause, correlation_id=correlation
        )
        uow.publish(event)
        events.append(event)
    return events


def event_for(
    change: Change,
    row: SupportPackage,
    *,
    extra: dict[str, Any],
    cause: Envelope[Any] | None = None,
    correlation_id: UUID | None = None,
) -> Envelope[Any]:
    """The event announcing ``change`` to ``row``; ``extra`` holds what its type adds (the
    agreement's basis, the comment, the criteria met, the escalation's cause, ...)."""
    event_type, payload = _EVENTS[change.type]
    data = payload(
        package_id=row.id,
        case_id=row.case_id,
        provider=row.provider,
        icbs=row.icbs,
        region=row.region,
        status=change.status_to.value,
        previous_status=change.status_from.value,
        actor=change.actor if isinstance(change.actor, Actor) else None,
        reason=change.reason[:2000] if change.reason else None,
        at=change.at,
        **extra,
    )
    return event_type.new(
        source=SOURCE, subject=row.provider, data=data, cause=cause, correlation_id=correlation_id
    )


def extra_for(change: Change, row: SupportPackage, plan: PackagePlan) -> dict[str, Any]:
    """What a change's event adds to the common payload, read from the change and the package."""
    details = change.details
    match change.type:
        case ChangeType.PROPOSED:
            return {"problem_statement": plan.problem_statement[:5000]}
        case ChangeType.EDITED:
            return {"fields_changed": [f.strip() for f in details.get("fields", "").split(",") if f.strip()]}
        case ChangeType.SIGNED_OFF | ChangeType.SIGN_OFF_WITHDRAWN:
            return {"side": details["role_kind"], "organisation": details["organisation"]}
        case ChangeType.AGREED | ChangeType.RE_AGREED:
            return {"basis": row.basis}
        case ChangeType.COMMENTED:
            return {"comment": change.reason}
        case ChangeType.EXIT_PROPOSED:
            met = [c.description for c in plan.exit_criteria] or [
                "the regional team judged the exit criteria met"
            ]
            return {"criteria_met": met}
        case ChangeType.ESCALATED:
            return {"cause": details.get("cause", "decision")}
        case ChangeType.MILESTONE_MISSED:
            return _missed(details)
    return {}


def _missed(details: Mapping[str, str]) -> dict[str, Any]:
    """A missed milestone's fields, from the change's details (``monitoring``: all strings)."""
    number = {name: float(details[name]) for name in ("target", "actual") if name in details}
    return {
        "kind": details["kind"],
        "metric": details.get("metric"),
        "period": details.get("period"),
        "plan_item_id": details.get("plan_item_id"),
        "due": details.get("due"),
        "consecutive": int(details["consecutive"]),
        **number,
    }
