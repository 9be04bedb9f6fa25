"""Support coordination's HTTP API: packages and their timelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from sqlmodel import col, select

from oversight_contracts import OdsCode
from oversight_runtime.service import OversightService
from oversight_support_coordination.storage import PackageTimelineEntry, SupportPackage

router = APIRouter(prefix="/v1", tags=["support packages"])


def _service(request: Request) -> OversightService:
    service: OversightService = request.app.state.service
    return service


@router.get("/support-packages")
async def list_packages(
    request: Request, provider: Annotated[OdsCode | None, Query()] = None
) -> Sequence[SupportPackage]:
    service = _service(request)
    query = select(SupportPackage).order_by(col(SupportPackage.created_at))
    if provider is not None:
        service.registry.provider(provider)
        query = query.where(SupportPackage.provider == provider)
    async with service.unit_of_work() as uow:
        return (await uow.session.exec(query)).all()


@router.get("/support-packages/{package_id}/timeline")
async def package_timeline(package_id: UUID, request: Request) -> Sequence[PackageTimelineEntry]:
    async with _service(request).unit_of_work() as uow:
        if await uow.session.get(SupportPackage, package_id) is None:
            raise HTTPException(404, f"no support package {package_id}")
        query = select(PackageTimelineEntry).where(PackageTimelineEntry.package_id == package_id)
        return (await uow.session.exec(query.order_by(col(PackageTimelineEntry.id)))).all()
