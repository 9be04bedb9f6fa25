"""Segmentation's HTTP API: a provider's needs, segment history and pathway, and the regional
team's decision (the only write: a proposal is never a decision)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from oversight_runtime.idempotency import IdempotencyKey
from oversight_runtime.service import OversightService, current_correlation_id
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_segmentation import domain
from oversight_segmentation.handlers import propose_for
from oversight_segmentation.storage import NeedTrigger, SegmentDecision, SegmentProposal, SupportNeed

router = APIRouter(prefix="/v1", tags=["segmentation"])


def _service(request: Request) -> OversightService:
    service: OversightService = request.app.state.service
    return service


class TriggerPublic(BaseModel):
    trigger_id: UUID
    code: str
    key: str
    metric: str | None
    evidence: str
    framework_paragraph: str
    raised_at: datetime
    cleared_at: datetime | None


class SupportNeedPublic(BaseModel):
    id: UUID
    provider: str
    theme: str
    status: str
    reason: str
    identified_at: datetime
    resolved_at: datetime | None
    triggers: list[TriggerPublic]


class SegmentDecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment: int = Field(ge=1, le=5)
    proposal_id: UUID | None = Field(default=None, description="The proposal this decision answers.")
    decided_by: str = Field(min_length=1, max_length=200, examples=["NHS England London region"])
    ics_view: str = Field(min_length=1, max_length=4000, description="System leaders' view (para 27).")
    reason: str = Field(min_length=1, max_length=4000)


class SegmentHistory(BaseModel):
    provider: str
    current_segment: int | None
    proposals: list[SegmentProposal]
    decisions: list[SegmentDecision]


class Pathway(BaseModel):
    provider: str
    proposal_id: UUID | None
    proposed_segment: int | None
    decision_timing: str | None
    review_date: date | None
    rationale: list[str]
    pathway: list[dict[str, Any]]


@router.get("/providers/{ods_code}/support-needs", response_model=list[SupportNeedPublic])
async def provider_support_needs(ods_code: str, request: Request) -> list[SupportNeedPublic]:
    service = _service(request)
    service.registry.provider(ods_code)
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


@router.get("/providers/{ods_code}/segments", response_model=SegmentHistory)
async def provider_segments(ods_code: str, request: Request) -> SegmentHistory:
    """Every proposal and decision for the provider, oldest first."""
    service = _service(request)
    service.registry.provider(ods_code)
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
        decisions=list(decisions),
    )


@router.get("/providers/{ods_code}/pathway", response_model=Pathway)
async def provider_pathway(ods_code: str, request: Request) -> Pathway:
    """What would clear each trigger and which segment that leads to, from the latest proposal."""
    service = _service(request)
    service.registry.provider(ods_code)
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
    "/providers/{ods_code}/segment-decisions",
    status_code=201,
    response_model=SegmentDecision,
    responses={422: {"description": "Invalid decision, unknown segment or proposal; nothing stored."}},
)
async def decide_segment(
    ods_code: str, body: SegmentDecisionCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """The regional team decides a segment, recording the ICS's view and the reason (para 27)."""
    service = _service(request)
    service.registry.provider(ods_code)

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
            previous_segment=previous.segment if previous else None,
            decision_id=uuid4(),
            correlation_id=UUID(current_correlation_id()),
            now=datetime.now(UTC),
        )
        record = SegmentDecision(id=event.data.decision_id, **event.data.model_dump(exclude={"decision_id"}))
        uow.session.add(record)
        uow.publish(event)
        await propose_for(uow, event)
        return 201, record.model_dump(mode="json")

    return await service.idempotent_write(request, key=idempotency_key, body=body, effect=effect)


@router.get("/segment-decisions/{decision_id}", response_model=SegmentDecision)
async def get_decision(decision_id: UUID, request: Request) -> SegmentDecision:
    async with _service(request).unit_of_work() as uow:
        record = await uow.session.get(SegmentDecision, decision_id)
    if record is None:
        raise HTTPException(404, f"no segment decision {decision_id}")
    return record
