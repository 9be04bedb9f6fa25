"""Metrics' HTTP API: a provider's stored series and the triggers raised for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from oversight_contracts import MetricId
from oversight_metrics.storage import Observation, RaisedTrigger
from oversight_runtime.service import OversightService

router = APIRouter(prefix="/v1", tags=["metrics"])


def _service(request: Request) -> OversightService:
    service: OversightService = request.app.state.service
    return service


@router.get("/providers/{ods_code}/observations")
async def provider_observations(
    ods_code: str, request: Request, metric: Annotated[MetricId | None, Query()] = None
) -> Sequence[Observation]:
    service = _service(request)
    service.registry.provider(ods_code)
    query = select(Observation).where(Observation.provider == ods_code)
    if metric is not None:
        query = query.where(Observation.metric == metric)
    async with service.unit_of_work() as uow:
        return (
            await uow.session.exec(query.order_by(col(Observation.metric), col(Observation.period)))
        ).all()


@router.get("/providers/{ods_code}/triggers")
async def provider_triggers(ods_code: str, request: Request) -> Sequence[RaisedTrigger]:
    service = _service(request)
    service.registry.provider(ods_code)
    async with service.unit_of_work() as uow:
        query = select(RaisedTrigger).where(RaisedTrigger.provider == ods_code)
        return (await uow.session.exec(query.order_by(col(RaisedTrigger.raised_at)))).all()
