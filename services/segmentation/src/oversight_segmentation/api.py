"""Segmentation's HTTP API: a provider's needs, segment history and pathway; the ICS lead's view
and the regional team's decision (a proposal is never a decision). Every route names the action it
needs; who gave a view or took a decision is the signed-in user."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from oversight_contracts import IcsViewTaken
from oversight_runtime.access import Principal
from oversight_runtime.idempotency import IdempotencyKey
from oversight_runtime.security import BODY_RESPONSES, PROTECTED_RESPONSES, require
from oversight_runtime.service import current_correlation_id, for_provider, service_of
from oversight_runtime.storage import ActedBy
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_segmentation import domain
from oversight_segmentation.flows import propose_for
from oversight_segmentation.models import (
    IcsViewCreate,
    IcsViewPublic,
    Pathway,
    SegmentDecisionCreate,
    SegmentDecisionPublic,
    SegmentHistory,
    SupportNeedPublic,
    TriggerPublic,
)
from oversight_segmentation.storage import IcsView, NeedTrigger, SegmentDecision, SegmentProposal, SupportNeed

router = APIRouter(prefix="/v1", tags=["segmentation"], responses=PROTECTED_RESPONSES)
PROVIDER_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No provider with this ODS code."}
}


def _view_taken(row: IcsView) -> IcsViewTaken:
    actor = row.recorded_actor()
    assert actor is not None, "ICS views are only ever recorded with their actor"
    return IcsViewTaken(
        view_id=row.id,
        icb=row.icb,
        proposal_id=row.proposal_id,
        recommended_segment=row.recommended_segment,
        view=row.view,
        actor=actor,
        recorded_at=row.recorded_at,
    )


def _decision_public(row: SegmentDecision) -> SegmentDecisionPublic:
    return SegmentDecisionPublic(
        **row.model_dump(exclude={*ActedBy.model_fields, "ics_views"}),
        actor=row.recorded_actor(),
        ics_views=[IcsViewTaken.model_validate(v) for v in row.ics_views],
    )


@router.get(
    "/providers/{ods_code}/support-needs",
    response_model=list[SupportNeedPublic],
    responses=PROVIDER_RESPONSES,
)
async def provider_support_needs(
    ods_code: str, request: Request, principal: Annotated[Principal, require("segmentation.read")]
) -> list[SupportNeedPublic]:
    service = for_provider(request, principal, ods_code)
    async with service.unit_of_work() as uow:
        needs = (
            await uow.session.exec(
                select(SupportNeed)
                .where(SupportNeed.provider == ods_code)
                .order_by(col(SupportNeed.identified_at))
            )
        ).all()
        triggers = (
            await uow.session.exec(
                select(NeedTrigger).where(col(NeedTrigger.need_id).in_([n.id for n in needs]))
            )
        ).all()
    return [
        SupportNeedPublic(
            **need.model_dump(),
            triggers=[
                TriggerPublic.model_validate(t, from_attributes=True)
                for t in triggers
                if t.need_id == need.id
            ],
        )
        for need in needs
    ]


@router.get("/providers/{ods_code}/segments", response_model=SegmentHistory, responses=PROVIDER_RESPONSES)
async def provider_segments(
    ods_code: str, request: Request, principal: Annotated[Principal, require("segmentation.read")]
) -> SegmentHistory:
    """Every proposal and decision for the provider, oldest first."""
    service = for_provider(request, principal, ods_code)
    async with service.unit_of_work() as uow:
        proposals = (
            await uow.session.exec(
                select(SegmentProposal)
                .where(SegmentProposal.provider == ods_code)
                .order_by(col(SegmentProposal.proposed_at))
            )
        ).all()
        decisions = (
            await uow.session.exec(
                select(SegmentDecision)
                .where(SegmentDecision.provider == ods_code)
                .order_by(col(SegmentDecision.decided_at))
            )
        ).all()
    return SegmentHistory(
        provider=ods_code,
        current_segment=decisions[-1].segment if decisions else None,
        proposals=list(proposals),
        decisions=[_decision_public(d) for d in decisions],
    )


@router.get("/providers/{ods_code}/pathway", response_model=Pathway, responses=PROVIDER_RESPONSES)
async def provider_pathway(
    ods_code: str, request: Request, principal: Annotated[Principal, require("segmentation.read")]
) -> Pathway:
    """What would clear each trigger and which segment that leads to, from the latest proposal."""
    service = for_provider(request, principal, ods_code)
    async with service.unit_of_work() as uow:
        latest = (
            await uow.session.exec(
                select(SegmentProposal)
                .where(SegmentProposal.provider == ods_code)
                .order_by(col(SegmentProposal.proposed_at).desc())
            )
        ).first()
    if latest is None:
        return Pathway(
            provider=ods_code,
            proposal_id=None,
            proposed_segment=None,
            decision_timing=None,
            review_date=None,
            rationale=["No trigger has been raised for this provider, so the rules have proposed nothing."],
            pathway=[],
        )
    return Pathway(
        provider=ods_code,
        proposal_id=latest.id,
        proposed_segment=latest.proposed_segment,
        decision_timing=latest.decision_timing,
        review_date=latest.review_date,
        rationale=latest.rationale,
        pathway=latest.pathway,
    )


@router.post(
    "/providers/{ods_code}/ics-views",
    status_code=201,
    response_model=IcsViewPublic,
    responses={
        **PROVIDER_RESPONSES,
        **BODY_RESPONSES,
        422: {"description": "Invalid view, unknown segment or proposal; nothing stored."},
    },
)
async def record_ics_view(
    ods_code: str,
    body: IcsViewCreate,
    request: Request,
    principal: Annotated[Principal, require("ics_view.record")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """An ICS lead gives the system leaders' view on the provider's segmentation (para 27)."""
    service = for_provider(request, principal, ods_code)
    actor = principal.actor("ics_view.record", service.access.policy)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        proposal = await uow.session.get(SegmentProposal, body.proposal_id) if body.proposal_id else None
        view = IcsViewTaken(
            view_id=uuid4(),
            icb=principal.organisation,
            actor=actor,
            recorded_at=datetime.now(UTC),
            **body.model_dump(),
        )
        event = domain.record_ics_view(
            view,
            ods_code,
            uow.framework,
            proposal_provider=proposal.provider if proposal else None,
            correlation_id=UUID(current_correlation_id()),
        )
        uow.session.add(
            IcsView(
                id=view.view_id,
                provider=ods_code,
                **view.model_dump(exclude={"view_id", "actor"}),
                **ActedBy.of(actor),
            )
        )
        uow.publish(event)
        return 201, IcsViewPublic(provider=ods_code, **view.model_dump()).model_dump(mode="json")

    return await service.idempotent_write(request, principal, key=idempotency_key, body=body, effect=effect)


@router.get(
    "/providers/{ods_code}/ics-views", response_model=list[IcsViewPublic], responses=PROVIDER_RESPONSES
)
async def provider_ics_views(
    ods_code: str, request: Request, principal: Annotated[Principal, require("segmentation.read")]
) -> list[IcsViewPublic]:
    """Every view the provider's ICS leads have given, oldest first."""
    service = for_provider(request, principal, ods_code)
    async with service.unit_of_work() as uow:
        rows = (
            await uow.session.exec(
                select(IcsView).where(IcsView.provider == ods_code).order_by(col(IcsView.recorded_at))
            )
        ).all()
    return [IcsViewPublic(provider=ods_code, **_view_taken(r).model_dump()) for r in rows]


async def _views_since_last_decision(
    uow: UnitOfWork, provider: str, since: datetime | None
) -> list[IcsViewTaken]:
    query = select(IcsView).where(IcsView.provider == provider)
    if since is not None:
        query = query.where(col(IcsView.recorded_at) > since)
    return domain.current_ics_views([_view_taken(r) for r in await uow.session.exec(query)], since)


@router.post(
    "/providers/{ods_code}/segment-decisions",
    status_code=201,
    response_model=SegmentDecisionPublic,
    responses={
        **PROVIDER_RESPONSES,
        **BODY_RESPONSES,
        422: {
            "description": "Invalid decision, unknown segment or proposal, or no ICS view; nothing stored."
        },
    },
)
async def decide_segment(
    ods_code: str,
    body: SegmentDecisionCreate,
    request: Request,
    principal: Annotated[Principal, require("segment.decide")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The regional team decides a segment, having regard to the ICS leads' recorded views, with
    the reason (para 27)."""
    service = for_provider(request, principal, ods_code)
    actor = principal.actor("segment.decide", service.access.policy)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        proposal = await uow.session.get(SegmentProposal, body.proposal_id) if body.proposal_id else None
        previous = (
            await uow.session.exec(
                select(SegmentDecision)
                .where(SegmentDecision.provider == ods_code)
                .order_by(col(SegmentDecision.decided_at).desc())
            )
        ).first()
        event = domain.decide_segment(
            domain.DecisionRequest(
                provider=ods_code,
                proposal_provider=proposal.provider if proposal else None,
                **body.model_dump(),
            ),
            uow.framework,
            actor=actor,
            ics_views=await _views_since_last_decision(
                uow, ods_code, previous.decided_at if previous else None
            ),
            previous_segment=previous.segment if previous else None,
            decision_id=uuid4(),
            correlation_id=UUID(current_correlation_id()),
            now=datetime.now(UTC),
        )
        data = event.data
        record = SegmentDecision(
            id=data.decision_id,
            **data.model_dump(exclude={"decision_id", "actor", "ics_views"}),
            ics_views=[v.model_dump(mode="json") for v in data.ics_views],
            **ActedBy.of(actor),
        )
        uow.session.add(record)
        uow.publish(event)
        await propose_for(uow, event)
        return 201, _decision_public(record).model_dump(mode="json")

    return await service.idempotent_write(request, principal, key=idempotency_key, body=body, effect=effect)


@router.get(
    "/segment-decisions/{decision_id}",
    response_model=SegmentDecisionPublic,
    responses={404: {"description": "No such segment decision."}},
)
async def get_decision(
    decision_id: UUID, request: Request, principal: Annotated[Principal, require("segmentation.read")]
) -> SegmentDecisionPublic:
    record = await service_of(request).get_in_scope(
        principal, SegmentDecision, decision_id, what="segment decision", loc="decision_id"
    )
    return _decision_public(record)
