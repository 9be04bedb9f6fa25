"""Segmentation's HTTP API: a provider's support needs and the triggers behind each."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlmodel import col, select

from oversight_runtime.service import OversightService
from oversight_segmentation.storage import NeedTrigger, SupportNeed

router = APIRouter(prefix="/v1", tags=["segmentation"])


class TriggerPublic(BaseModel):
    trigger_id: UUID
    code: str
    evidence: str
    framework_paragraph: str
    raised_at: datetime


class SupportNeedPublic(BaseModel):
    id: UUID
    provider: str
    theme: str
    status: str
    reason: str
    identified_at: datetime
    resolved_at: datetime | None
    triggers: list[TriggerPublic]


@router.get("/providers/{ods_code}/support-needs", response_model=list[SupportNeedPublic])
async def provider_support_needs(ods_code: str, request: Request) -> list[SupportNeedPublic]:
    service: OversightService = request.app.state.service
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
