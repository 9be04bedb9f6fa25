"""Metrics' HTTP API: a provider's stored series and the triggers raised for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from oversight_contracts import MetricId
from oversight_metrics.storage import Observation, RaisedTrigger
from oversight_runtime.access import Principal
from oversight_runtime.security import PROTECTED_RESPONSES, require
from oversight_runtime.service import for_provider

router = APIRouter(prefix="/v1", tags=["metrics"], responses=PROTECTED_RESPONSES)
PROVIDER_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No provider with this ODS code."}
}


@router.get("/providers/{ods_code}/observations", responses=PROVIDER_RESPONSES)
async def provider_observations(
    ods_code: str,
    request: Request,
    principal: Annotated[Principal, require("metrics.read")],
    metric: Annotated[MetricId | None, Query()] = None,
) -> Sequence[Observation]:
    service = for_provider(request, principal, ods_code)
    query = select(Observation).where(Observation.provider == ods_code)
    if metric is not None:
        query = query.where(Observation.metric == metric)
    async with service.unit_of_work() as uow:
        return (
            await uow.session.exec(query.order_by(col(Observation.metric), col(Observation.period)))
        ).all()


@router.get("/providers/{ods_code}/triggers", responses=PROVIDER_RESPONSES)
async def provider_triggers(
    ods_code: str, request: Request, principal: Annotated[Principal, require("metrics.read")]
) -> Sequence[RaisedTrigger]:
    service = for_provider(request, principal, ods_code)
    async with service.unit_of_work() as uow:
        query = select(RaisedTrigger).where(RaisedTrigger.provider == ods_code)
        return (await uow.session.exec(query.order_by(col(RaisedTrigger.raised_at)))).all()
