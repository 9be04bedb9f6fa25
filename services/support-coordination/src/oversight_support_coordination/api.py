"""Support coordination's HTTP API: packages and their timelines, within the reader's scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from sqlmodel import col, select

from oversight_contracts import OdsCode
from oversight_runtime.access import Principal
from oversight_runtime.security import PROTECTED_RESPONSES, require, restrict
from oversight_runtime.service import service_of
from oversight_support_coordination.storage import PackageTimelineEntry, SupportPackage

router = APIRouter(prefix="/v1", tags=["support packages"], responses=PROTECTED_RESPONSES)


@router.get("/support-packages", responses={404: {"description": "No provider with this ODS code."}})
async def list_packages(
    request: Request,
    principal: Annotated[Principal, require("support.read")],
    provider: Annotated[OdsCode | None, Query()] = None,
) -> Sequence[SupportPackage]:
    """The packages of every provider the user oversees (or of one of them), oldest first."""
    service = service_of(request)
    query = select(SupportPackage).order_by(col(SupportPackage.created_at))
    if provider is not None:
        service.registry.provider(provider)
        service.access.ensure_in_scope(principal, provider, loc=("query", "provider"))
        query = query.where(SupportPackage.provider == provider)
    query = restrict(query, col(SupportPackage.provider), service.access.scope(principal))
    async with service.unit_of_work() as uow:
        return (await uow.session.exec(query)).all()


@router.get(
    "/support-packages/{package_id}/timeline", responses={404: {"description": "No such support package."}}
)
async def package_timeline(
    package_id: UUID, request: Request, principal: Annotated[Principal, require("support.read")]
) -> Sequence[PackageTimelineEntry]:
    service = service_of(request)
    await service.get_in_scope(
        principal, SupportPackage, package_id, what="support package", loc="package_id"
    )
    async with service.unit_of_work() as uow:
        query = select(PackageTimelineEntry).where(PackageTimelineEntry.package_id == package_id)
        return (await uow.session.exec(query.order_by(col(PackageTimelineEntry.id)))).all()
