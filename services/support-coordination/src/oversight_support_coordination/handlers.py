"""Support coordination's event handlers: each need joins its provider's case with a draft package
of its own; segmentation decisions keep each provider's segment; metric evaluations, triggers and
worse segments drive the monitoring of agreed packages (``watch``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from uuid import UUID, uuid4

from sqlmodel import select

from oversight_contracts import (
    AnySupportNeedIdentified,
    AnyTriggerCleared,
    AnyTriggerRaised,
    MetricEvaluated,
    PathwayStepV2,
    SegmentDecided,
    SegmentDecidedV2,
    SegmentProposed,
    SegmentProposedV2,
    SupportNeedIdentified,
    SupportNeedIdentifiedV2,
    Theme,
    TriggerCleared,
    TriggerClearedV2,
    TriggerRaised,
    TriggerRaisedV2,
)
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.reference import Provider
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_support_coordination import domain, pathways, watch
from oversight_support_coordination.catalogue import OffersCatalogue, load_catalogue
from oversight_support_coordination.lifecycle import (
    ExitCriterion,
    PackagePlan,
    follow_pathway,
)
from oversight_support_coordination.packages import PLAN, record_outcome, state_of
from oversight_support_coordination.storage import (
    CaseNeed,
    PackageTimelineEntry,
    ProviderProposal,
    ProviderSegment,
    SupportCase,
    SupportPackage,
)

handlers = EventHandlers()


@cache
def catalogue() -> OffersCatalogue:
    """The offers catalogue, validated once when first needed."""
    return load_catalogue()


@handlers.on(SupportNeedIdentified, SupportNeedIdentifiedV2)
async def join_case(uow: UnitOfWork, event: AnySupportNeedIdentified) -> None:
    """A need joins its provider's open case (opened if there is none) with a draft package of its
    own, drafted from the catalogue: the case shows the provider's needs together (para 33), and
    each need is tailored for (para 32)."""
    provider = uow.registry.provider(event.data.provider)
    seen: set[UUID] = uow.cache.setdefault("needs seen", set())
    if event.data.need_id in seen:
        return
    seen.add(event.data.need_id)
    with uow.session.no_autoflush:  # this batch's rows are in the cache: no flush per event
        if await uow.session.get(CaseNeed, event.data.need_id) is not None:
            return  # this need is already in a case, whatever the delivery history
        case = await _open_case(uow, provider)
        now = datetime.now(UTC)
        plan = await _draft_plan(uow, event, provider, now)
    uow.session.add(
        CaseNeed(
            need_id=event.data.need_id,
            case_id=case.id,
            theme=event.data.theme.value,
            trigger_codes=domain.trigger_codes(event),
            trigger_ids=[str(t) for t in event.data.trigger_ids],
            reason=event.data.reason,
            identified_at=event.data.identified_at,
        )
    )
    _new_draft(uow, event, provider, case, plan, now)


async def _draft_plan(
    uow: UnitOfWork, event: AnySupportNeedIdentified, provider: Provider, now: datetime
) -> PackagePlan:
    """The catalogue's draft for the need in the provider's segment, its exit criteria from the
    latest proposal's pathway when that has steps for the need's theme."""
    segment = await _segment(uow, provider.ods_code)
    plan = domain.draft_plan(event, provider, catalogue(), segment=segment, today=now.date())
    segment_proposal = await _proposal(uow, provider.ods_code)
    if segment_proposal and (criteria := _pathway_criteria(uow, segment_proposal, event.data.theme)):
        plan = replace(plan, exit_criteria=criteria)
    return plan


def _new_draft(
    uow: UnitOfWork,
    event: AnySupportNeedIdentified,
    provider: Provider,
    case: SupportCase,
    plan: PackagePlan,
    now: datetime,
) -> None:
    proposal = domain.propose_package(event, provider, plan, package_id=uuid4(), now=now)
    data = proposal.data
    package = SupportPackage(
        id=data.package_id,
        need_id=data.need_id,
        case_id=case.id,
        provider=data.provider,
        theme=data.theme.value,
        status="draft",
        icbs=list(data.icbs),
        region=data.region,
        summary=data.summary,
        created_at=now,
        status_changed_at=now,
        # Every field with a default factory given: SQLModel would otherwise ask pydantic whether
        # each factory takes arguments, an ``inspect.signature`` of a builtin parsed from text,
        # which was a quarter of this service's CPU when draining needs.
        plan=PLAN.dump_python(plan, mode="json"),
        sign_offs=[],
        acknowledged_by=[],
    )
    uow.session.add(package)
    _timeline(uow, package.id, "drafted", f"Draft opened for need {data.need_id}", now, event)
    uow.publish(proposal)


def _timeline(
    uow: UnitOfWork, package_id: UUID, kind: str, detail: str, at: datetime, cause: AnySupportNeedIdentified
) -> None:
    # Written with the batch's other rows after the packages (it refers to one).
    uow.insert_later(
        PackageTimelineEntry,
        {
            "package_id": package_id,
            "kind": kind,
            "detail": detail,
            "at": at,
            "status": "draft",
            "details": {"need_id": str(cause.data.need_id)},
            "cause_event_id": cause.id,
            "correlation_id": cause.correlation_id,
        },
    )


async def _open_case(uow: UnitOfWork, provider: Provider) -> SupportCase:
    key = ("case", provider.ods_code)
    if (case := uow.cache.get(key)) is None:
        query = select(SupportCase).where(
            SupportCase.provider == provider.ods_code, SupportCase.status == "open"
        )
        case = (await uow.session.exec(query.limit(1))).first()
        if case is None:
            case = SupportCase(
                id=uuid4(), provider=provider.ods_code, icbs=list(provider.icbs), region=provider.region
            )
            uow.session.add(case)
            await uow.session.flush()  # before its needs and packages, which refer to it
        uow.cache[key] = case
    return case


async def _segment(uow: UnitOfWork, provider: str) -> int | None:
    key = ("segment", provider)
    if key not in uow.cache:
        row = await uow.session.get(ProviderSegment, provider)
        uow.cache[key] = row.segment if row else None
    segment: int | None = uow.cache[key]
    return segment


async def _proposal(uow: UnitOfWork, provider: str) -> ProviderProposal | None:
    key = ("proposal", provider)
    if key not in uow.cache:
        uow.cache[key] = await uow.session.get(ProviderProposal, provider)
    proposal: ProviderProposal | None = uow.cache[key]
    return proposal


def _pathway_criteria(uow: UnitOfWork, proposal: ProviderProposal, theme: Theme) -> tuple[ExitCriterion, ...]:
    steps = [PathwayStepV2.model_validate(step) for step in proposal.pathway]
    return pathways.criteria_from_pathway(steps, theme, uow.framework, proposal_id=proposal.proposal_id)


@handlers.on(SegmentProposed, SegmentProposedV2)
async def keep_proposal(uow: UnitOfWork, event: SegmentProposed | SegmentProposedV2) -> None:
    """The provider's latest segment proposal (in proposal time). Its pathway becomes the exit
    criteria of the provider's drafts whose criteria no one has written (seed 001: a clear
    pathway out), each change recorded like a person's edit, with monitoring as its actor."""
    data = event.data
    proposal = await _proposal(uow, data.provider)
    if proposal is not None and proposal.proposed_at > data.proposed_at:
        return  # an older proposal than the one kept
    steps = [PathwayStepV2.model_validate(step.model_dump()).model_dump(mode="json") for step in data.pathway]
    if proposal is None:
        proposal = ProviderProposal(
            provider=data.provider,
            proposal_id=data.proposal_id,
            pathway=steps,
            proposed_segment=data.proposed_segment,
            proposed_at=data.proposed_at,
        )
        uow.session.add(proposal)
        uow.cache[("proposal", data.provider)] = proposal
    else:
        proposal.proposal_id, proposal.pathway = data.proposal_id, steps
        proposal.proposed_segment, proposal.proposed_at = data.proposed_segment, data.proposed_at
    drafts = await uow.session.exec(
        select(SupportPackage).where(
            SupportPackage.provider == data.provider, SupportPackage.status == "draft"
        )
    )
    now = datetime.now(UTC)
    reason = f"exit criteria follow the pathway of segment proposal {data.proposal_id} (seed 001)"
    for package in drafts:
        criteria = _pathway_criteria(uow, proposal, Theme(package.theme))
        outcome = follow_pathway(state_of(package), criteria, now=now, reason=reason)
        await record_outcome(uow, package, outcome, cause=event)


@handlers.on(SegmentDecided, SegmentDecidedV2)
async def keep_segment(uow: UnitOfWork, event: SegmentDecided | SegmentDecidedV2) -> None:
    """The provider's latest segment (a later decision replaces an earlier one, in decision time);
    a worse one than it had escalates its agreed packages (``watch.segment_decided``)."""
    data = event.data
    row = await uow.session.get(ProviderSegment, data.provider)
    if row is None:
        was = data.previous_segment
        row = ProviderSegment(provider=data.provider, segment=data.segment, decided_at=data.decided_at)
        uow.session.add(row)
    elif data.decided_at >= row.decided_at:
        was = row.segment
        row.segment, row.decided_at = data.segment, data.decided_at
    else:
        return  # an older decision than the one kept: it changes nothing
    uow.cache[("segment", data.provider)] = row.segment
    await watch.segment_decided(uow, event, was)


# --- monitoring (``monitoring``, ``watch``) -----------------------------------------------------


@handlers.on(MetricEvaluated)
async def monitor_kpis(uow: UnitOfWork, event: MetricEvaluated) -> None:
    """A KPI's value for a period against its trajectory: a miss is reported once, a second in
    a row escalates the package."""
    await watch.metric_evaluated(uow, event)


@handlers.on(TriggerRaised, TriggerRaisedV2)
async def keep_raised_trigger(uow: UnitOfWork, event: AnyTriggerRaised) -> None:
    """The provider's active triggers, which hold its packages' exit criteria open."""
    await watch.trigger_raised(uow, event)


@handlers.on(TriggerCleared, TriggerClearedV2)
async def keep_cleared_trigger(uow: UnitOfWork, event: AnyTriggerCleared) -> None:
    """A trigger cleared: packages in delivery whose every exit criterion now holds propose exit."""
    await watch.trigger_cleared(uow, event)
