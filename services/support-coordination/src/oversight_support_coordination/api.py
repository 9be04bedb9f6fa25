"""Support coordination's HTTP API: cases, packages, their lifecycle and timelines, within the
caller's scope. Writes take an Idempotency-Key; who acted comes from the token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select

from oversight_contracts import AgreementBasis, OdsCode, PackageStatus, Theme
from oversight_runtime.access import Principal
from oversight_runtime.idempotency import IdempotencyKey
from oversight_runtime.security import BODY_RESPONSES, PROTECTED_RESPONSES, require, restrict
from oversight_runtime.service import current_correlation_id, service_of
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_support_coordination import lifecycle
from oversight_support_coordination.catalogue import OffersCatalogue
from oversight_support_coordination.handlers import catalogue
from oversight_support_coordination.lifecycle import PackageEdit
from oversight_support_coordination.models import (
    CaseNeedPublic,
    CasePublic,
    PackageActionBody,
    PackageEditBody,
    PackagePublic,
    TimelineEntryPublic,
)
from oversight_support_coordination.packages import (
    event_for,
    extra_for,
    plan_of,
    state_of,
    store_state,
    timeline_row,
)
from oversight_support_coordination.storage import (
    CaseNeed,
    PackageTimelineEntry,
    SupportCase,
    SupportPackage,
)

router = APIRouter(prefix="/v1", tags=["support packages"], responses=PROTECTED_RESPONSES)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such support package."}}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **BODY_RESPONSES,
    **NOT_FOUND,
    409: {"description": "The package changed since it was read; read it again and retry."},
    422: {"description": "Bad input, or a move the package's status does not allow (named in the answer)."},
}


def public(row: SupportPackage) -> PackagePublic:
    return PackagePublic(
        **row.model_dump(exclude={"plan", "status"}),
        status=PackageStatus(row.status),
        plan=plan_of(row),
        allowed_actions=list(lifecycle.allowed_actions(PackageStatus(row.status))),
    )


# --- reading ----------------------------------------------------------------------------------


@router.get("/support-packages", responses={404: {"description": "No provider with this ODS code."}})
async def list_packages(
    request: Request,
    principal: Annotated[Principal, require("support.read")],
    provider: Annotated[OdsCode | None, Query()] = None,
    status: Annotated[PackageStatus | None, Query()] = None,
    theme: Annotated[Theme | None, Query()] = None,
) -> list[PackagePublic]:
    """The packages of every provider the user oversees, oldest first, narrowed by provider,
    status or theme."""
    service = service_of(request)
    query = select(SupportPackage).order_by(col(SupportPackage.created_at))
    if provider is not None:
        service.registry.provider(provider)
        service.access.ensure_in_scope(principal, provider, loc=("query", "provider"))
        query = query.where(SupportPackage.provider == provider)
    if status is not None:
        query = query.where(SupportPackage.status == status.value)
    if theme is not None:
        query = query.where(SupportPackage.theme == theme.value)
    query = restrict(query, col(SupportPackage.provider), service.access.scope(principal))
    async with service.unit_of_work() as uow:
        return [public(row) for row in (await uow.session.exec(query)).all()]


@router.get("/support-packages/{package_id}", responses=NOT_FOUND)
async def read_package(
    package_id: UUID, request: Request, principal: Annotated[Principal, require("support.read")]
) -> PackagePublic:
    row = await service_of(request).get_in_scope(
        principal, SupportPackage, package_id, what="support package", loc="package_id"
    )
    return public(row)


@router.get("/support-packages/{package_id}/timeline", responses=NOT_FOUND)
async def package_timeline(
    package_id: UUID, request: Request, principal: Annotated[Principal, require("support.read")]
) -> list[TimelineEntryPublic]:
    """Every change to the package, newest first: what, who, why and the event that caused it."""
    service = service_of(request)
    await service.get_in_scope(
        principal, SupportPackage, package_id, what="support package", loc="package_id"
    )
    async with service.unit_of_work() as uow:
        query = select(PackageTimelineEntry).where(PackageTimelineEntry.package_id == package_id)
        rows = (await uow.session.exec(query.order_by(col(PackageTimelineEntry.id).desc()))).all()
    return [
        TimelineEntryPublic(type=row.kind, **row.model_dump(exclude={"kind"}))
        for row in rows
        if row.id is not None
    ]


@router.get("/support-cases", responses={404: {"description": "No provider with this ODS code."}})
async def list_cases(
    request: Request,
    principal: Annotated[Principal, require("support.read")],
    provider: Annotated[OdsCode | None, Query()] = None,
) -> list[CasePublic]:
    """The support cases of every provider the user oversees: each with its needs and packages."""
    service = service_of(request)
    query = select(SupportCase).order_by(col(SupportCase.opened_at))
    if provider is not None:
        service.registry.provider(provider)
        service.access.ensure_in_scope(principal, provider, loc=("query", "provider"))
        query = query.where(SupportCase.provider == provider)
    query = restrict(query, col(SupportCase.provider), service.access.scope(principal))
    async with service.unit_of_work() as uow:
        return [await _case_public(uow, case) for case in (await uow.session.exec(query)).all()]


@router.get("/support-cases/{case_id}", responses={404: {"description": "No such support case."}})
async def read_case(
    case_id: UUID, request: Request, principal: Annotated[Principal, require("support.read")]
) -> CasePublic:
    service = service_of(request)
    case = await service.get_in_scope(principal, SupportCase, case_id, what="support case", loc="case_id")
    async with service.unit_of_work() as uow:
        return await _case_public(uow, case)


async def _case_public(uow: UnitOfWork, case: SupportCase) -> CasePublic:
    needs = await uow.session.exec(select(CaseNeed).where(CaseNeed.case_id == case.id))
    packages = await uow.session.exec(
        select(SupportPackage.id)
        .where(SupportPackage.case_id == case.id)
        .order_by(col(SupportPackage.created_at))
    )
    return CasePublic(
        **case.model_dump(),
        needs=[CaseNeedPublic(**need.model_dump()) for need in needs],
        packages=list(packages),
    )


@router.get("/support-offers")
async def offers_catalogue(principal: Annotated[Principal, require("support.read")]) -> OffersCatalogue:
    """The offers catalogue packages draw on (paras 34-35): offer, themes, level, who provides it
    and its typical duration."""
    return catalogue()


# --- changing ---------------------------------------------------------------------------------


@router.patch("/support-packages/{package_id}", response_model=PackagePublic, responses=WRITE_RESPONSES)
async def edit_package(
    package_id: UUID,
    body: PackageEditBody,
    request: Request,
    principal: Annotated[Principal, require("support.act")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Shape the package's "new deal" (Kerr rec 1.6); a change withdraws any sign-off given."""
    return await _act(
        request, principal, package_id, body, lifecycle.PackageAction.EDIT, None, body.edit(), idempotency_key
    )


@router.post(
    "/support-packages/{package_id}/actions", response_model=PackagePublic, responses=WRITE_RESPONSES
)
async def act_on_package(
    package_id: UUID,
    body: PackageActionBody,
    request: Request,
    principal: Annotated[Principal, require("support.act")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Move the package on: put forward, sign off, acknowledge, comment, start delivery, propose,
    decline or confirm exit, withdraw or escalate. Who may do which is the lifecycle's rule."""
    if body.action == lifecycle.PackageAction.EDIT:
        raise HTTPException(
            422, [{"loc": ["body", "action"], "msg": "edit with PATCH on the package", "type": "use_patch"}]
        )
    return await _act(request, principal, package_id, body, body.action, body.reason, None, idempotency_key)


async def _act(
    request: Request,
    principal: Principal,
    package_id: UUID,
    body: Any,
    action: lifecycle.PackageAction,
    reason: str | None,
    edit: PackageEdit | None,
    key: str | None,
) -> JSONResponse:
    service = service_of(request)
    await service.get_in_scope(
        principal, SupportPackage, package_id, what="support package", loc="package_id"
    )

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        row = await uow.session.get(SupportPackage, package_id)
        assert row is not None  # checked above; packages are never deleted
        now = datetime.now(UTC)
        outcome = lifecycle.transition(state_of(row), action, principal, now=now, reason=reason, edit=edit)
        await _apply(uow, row, outcome)
        await uow.session.flush()  # the answer shows the version the update gave the package
        return 200, public(row).model_dump(mode="json")

    try:
        response: JSONResponse = await service.idempotent_write(
            request, principal, key=key, body=body, effect=effect
        )
    except StaleDataError:
        raise HTTPException(409, "the package changed since it was read; read it again and retry") from None
    return response


async def _apply(uow: UnitOfWork, row: SupportPackage, outcome: lifecycle.Outcome) -> None:
    """Store the new state, freeze what an agreement rests on, and write a timeline row and an
    event for every change, in the request's transaction."""
    if not outcome.changes:
        return  # a repeat: nothing changed, nothing to record
    store_state(row, outcome.state)
    if any(c.type in (lifecycle.ChangeType.AGREED, lifecycle.ChangeType.RE_AGREED) for c in outcome.changes):
        row.basis = await _basis(uow, row)
    correlation = UUID(current_correlation_id())
    plan = outcome.state.plan
    for change in outcome.changes:
        uow.insert_later(
            PackageTimelineEntry,
            timeline_row(row.id, change, cause_event_id=None, correlation_id=correlation),
        )
        uow.publish(event_for(change, row, extra=extra_for(change, row, plan), correlation_id=correlation))


async def _basis(uow: UnitOfWork, row: SupportPackage) -> dict[str, Any]:
    """What the agreement rests on, frozen into the package: the framework pack and the triggers
    behind the case's open needs at this moment."""
    needs = await uow.session.exec(
        select(CaseNeed).where(CaseNeed.case_id == row.case_id, col(CaseNeed.resolved_at).is_(None))
    )
    trigger_ids = sorted({t for need in needs for t in need.trigger_id.split(",") if t})
    basis = AgreementBasis(
        framework_pack=uow.framework.id,
        framework_version=str(uow.framework.version),
        trigger_ids=trigger_ids[:200],
        pathway=[],
    )
    return basis.model_dump(mode="json")
