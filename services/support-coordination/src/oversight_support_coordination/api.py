"""Support coordination's HTTP API: cases, packages, their lifecycle and timelines, peer
suggestions and needs sharing a cause, within the caller's scope. Writes take an Idempotency-Key;
who acted comes from the token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select

from oversight_contracts import AgreementBasis, OdsCode, PackageStatus, Theme
from oversight_runtime.access import Principal
from oversight_runtime.idempotency import Effect, IdempotencyKey
from oversight_runtime.security import BODY_RESPONSES, PROTECTED_RESPONSES, require, restrict
from oversight_runtime.service import OversightService, current_correlation_id, service_of
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_support_coordination import domain, lifecycle
from oversight_support_coordination.catalogue import OffersCatalogue
from oversight_support_coordination.handlers import catalogue
from oversight_support_coordination.lifecycle import PackageEdit
from oversight_support_coordination.models import (
    CaseNeedPublic,
    CasePublic,
    PackageActionBody,
    PackageEditBody,
    PackagePublic,
    PeerPublic,
    SharedCauseBody,
    SharedCausePublic,
    TimelineEntryPublic,
)
from oversight_support_coordination.packages import (
    plan_of,
    record_outcome,
    state_of,
)
from oversight_support_coordination.peers import PEER_SEGMENT, suggest_peers
from oversight_support_coordination.storage import (
    CaseNeed,
    PackageTimelineEntry,
    ProviderProposal,
    ProviderSegment,
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
CASE_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **WRITE_RESPONSES,
    404: {"description": "No such support case."},
    409: {"description": "A package of the case changed meanwhile; read the case again and retry."},
    422: {"description": "Bad input: a need not in the case or resolved, fewer than two needs (named)."},
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
    query = _in_scope(
        select(SupportPackage).order_by(col(SupportPackage.created_at)),
        SupportPackage,
        provider,
        service,
        principal,
    )
    if status is not None:
        query = query.where(SupportPackage.status == status.value)
    if theme is not None:
        query = query.where(SupportPackage.theme == theme.value)
    async with service.unit_of_work() as uow:
        return [public(row) for row in (await uow.session.exec(query)).all()]


def _in_scope(
    query: Any,
    table: type[SupportPackage] | type[SupportCase],
    provider: str | None,
    service: Any,
    principal: Principal,
) -> Any:
    """``query`` narrowed to the principal's scope and, when the caller names one, to a provider:
    404 if the registry does not know it, 403 if it is outside the scope."""
    if provider is not None:
        service.registry.provider(provider)
        service.access.ensure_in_scope(principal, provider, loc=("query", "provider"))
        query = query.where(table.provider == provider)
    return restrict(query, col(table.provider), service.access.scope(principal))


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


@router.get("/support-packages/{package_id}/peers", responses=NOT_FOUND)
async def package_peers(
    package_id: UUID, request: Request, principal: Annotated[Principal, require("support.read")]
) -> list[PeerPublic]:
    """Providers that could support the package's provider with its need (Table 2: segment 1
    providers support others): in segment 1, of the same kind, in the same region, with no open
    need in the package's theme. Nearest first, where "near" is a stand-in: the registry has no
    locations, so providers sharing one of its ICBs (the same system) come first, then the
    region's others, each by name (``peers``). Name one on a plan item's ``peer``."""
    service = service_of(request)
    row = await service.get_in_scope(
        principal, SupportPackage, package_id, what="support package", loc="package_id"
    )
    provider = service.registry.provider(row.provider)
    async with service.unit_of_work() as uow:
        segments = await uow.session.exec(
            select(ProviderSegment.provider, ProviderSegment.segment).where(
                ProviderSegment.segment == PEER_SEGMENT
            )
        )
        open_needs = await uow.session.exec(
            select(SupportCase.provider, CaseNeed.theme)
            .join(SupportCase, col(CaseNeed.case_id) == col(SupportCase.id))
            .where(
                CaseNeed.theme == row.theme,
                col(CaseNeed.resolved_at).is_(None),
                SupportCase.region == provider.region,
            )
        )
        segment_of = {code: segment for code, segment in segments}
        with_needs = {(code, theme) for code, theme in open_needs}
    suggestions = suggest_peers(
        provider,
        row.theme,
        providers=service.registry.providers,
        segments=segment_of,
        open_needs=with_needs,
    )
    return [
        PeerPublic(
            ods_code=s.provider.ods_code,
            name=s.provider.name,
            kind=s.provider.kind,
            icbs=list(s.provider.icbs),
            segment=s.segment,
            distance_km=None if s.distance_km is None else round(s.distance_km, 1),
            why=s.why,
        )
        for s in suggestions
    ]


@router.get("/support-cases", responses={404: {"description": "No provider with this ODS code."}})
async def list_cases(
    request: Request,
    principal: Annotated[Principal, require("support.read")],
    provider: Annotated[OdsCode | None, Query()] = None,
) -> list[CasePublic]:
    """The support cases of every provider the user oversees: each with its needs and packages."""
    service = service_of(request)
    query = _in_scope(
        select(SupportCase).order_by(col(SupportCase.opened_at)), SupportCase, provider, service, principal
    )
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
    needs = await uow.session.exec(
        select(CaseNeed)
        .where(CaseNeed.case_id == case.id)
        .order_by(col(CaseNeed.identified_at), col(CaseNeed.need_id))
    )
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
    """Shape the package's "new deal" (Kerr rec 1.6); a change withdraws any sign-off given. A plan
    item's peer must be a known provider other than the package's own (see its peers)."""
    service = service_of(request)
    registry, framework = service.registry, service.framework

    def check(row: SupportPackage) -> None:
        body.check_peers(registry, row.provider)
        body.check_kpis(framework.metrics, framework.id)

    return await _act(
        request,
        principal,
        package_id,
        body,
        lifecycle.PackageAction.EDIT,
        None,
        body.edit(),
        idempotency_key,
        check=check,
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
    return await _act(request, principal, package_id, body, body.action, body.reason, None, idempotency_key)


@router.post(
    "/support-cases/{case_id}/shared-causes", response_model=SharedCausePublic, responses=CASE_WRITE_RESPONSES
)
async def mark_shared_cause(
    case_id: UUID,
    body: SharedCauseBody,
    request: Request,
    principal: Annotated[Principal, require("support.act")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Mark needs of the case as sharing an underlying cause (para 33): the cause is written on
    each need, and one plan item, "Address the shared cause: ...", owned by the region, addresses
    them all. It goes into the package of the first named need whose package can still be edited,
    as an edit: any sign-off given is withdrawn, on the timeline and as events. Only the ICS and
    regional teams may (``domain.SHARED_CAUSE_ROLES``). Marking the same needs again rewrites
    that item rather than adding another."""
    domain.ensure_may_mark_shared_cause(principal)
    service = service_of(request)
    await service.get_in_scope(principal, SupportCase, case_id, what="support case", loc="case_id")
    reason = f"needs share an underlying cause (para 33): {body.cause}"

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        case = await uow.session.get(SupportCase, case_id)
        assert case is not None  # checked above; cases are never deleted
        rows = await uow.session.exec(select(CaseNeed).where(CaseNeed.case_id == case_id))
        case_needs = {need.need_id: need for need in rows}
        named = domain.shared_cause_needs(
            body.need_ids, {need_id: need.resolved_at is not None for need_id, need in case_needs.items()}
        )
        packages = {
            row.need_id: row
            for row in await uow.session.exec(
                select(SupportPackage).where(
                    SupportPackage.case_id == case_id, col(SupportPackage.need_id).in_(named)
                )
            )
        }
        lead = domain.package_for_shared_cause(
            named, {need_id: PackageStatus(row.status) for need_id, row in packages.items()}
        )
        package = packages[lead]
        item = domain.shared_cause_item(named, body.cause, owner=package.region)
        edit = PackageEdit(plan_items=domain.with_shared_cause_item(plan_of(package).plan_items, item))
        await _transition(uow, package, principal, lifecycle.PackageAction.EDIT, reason=reason, edit=edit)
        for need_id in named:
            case_needs[need_id].shared_cause = body.cause
        await uow.session.flush()
        answer = SharedCausePublic(case=await _case_public(uow, case), package=public(package))
        return 200, answer.model_dump(mode="json")

    return await _write(service, request, principal, idempotency_key, body, effect)


async def _act(
    request: Request,
    principal: Principal,
    package_id: UUID,
    body: Any,
    action: lifecycle.PackageAction,
    reason: str | None,
    edit: PackageEdit | None,
    key: str | None,
    *,
    check: Callable[[SupportPackage], None] | None = None,
) -> JSONResponse:
    """Take ``action`` on one package; ``check`` may refuse the input first, given the package."""
    service = service_of(request)
    package = await service.get_in_scope(
        principal, SupportPackage, package_id, what="support package", loc="package_id"
    )
    if check is not None:
        check(package)  # what it reads (the provider) never changes

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        row = await uow.session.get(SupportPackage, package_id)
        assert row is not None  # checked above; packages are never deleted
        await _transition(uow, row, principal, action, reason=reason, edit=edit)
        await uow.session.flush()  # the answer shows the version the update gave the package
        return 200, public(row).model_dump(mode="json")

    return await _write(service, request, principal, key, body, effect)


async def _write(
    service: OversightService,
    request: Request,
    principal: Principal,
    key: str | None,
    body: Any,
    effect: Effect,
) -> JSONResponse:
    """Run ``effect`` once per Idempotency-Key; a package changed since it was read answers 409."""
    try:
        response: JSONResponse = await service.idempotent_write(
            request, principal, key=key, body=body, effect=effect
        )
    except StaleDataError:
        raise HTTPException(409, "the package changed since it was read; read it again and retry") from None
    return response


async def _transition(
    uow: UnitOfWork,
    row: SupportPackage,
    principal: Principal,
    action: lifecycle.PackageAction,
    *,
    reason: str | None,
    edit: PackageEdit | None,
) -> None:
    """The lifecycle's rules applied to ``row`` for ``principal``, and what changed stored."""
    outcome = lifecycle.transition(
        state_of(row), action, principal, now=datetime.now(UTC), reason=reason, edit=edit
    )
    await _apply(uow, row, outcome)


async def _apply(uow: UnitOfWork, row: SupportPackage, outcome: lifecycle.Outcome) -> None:
    """Store the new state, freeze what an agreement rests on, and write a timeline row and an
    event for every change, in the request's transaction (``packages.record_outcome``)."""
    await record_outcome(uow, row, outcome, correlation_id=UUID(current_correlation_id()), basis=_basis)


async def _basis(uow: UnitOfWork, row: SupportPackage) -> dict[str, Any]:
    """What the agreement rests on, frozen into the package: the framework pack, the triggers
    behind the case's open needs and the provider's latest segment proposal with its pathway
    out, at this moment."""
    needs = await uow.session.exec(
        select(CaseNeed).where(CaseNeed.case_id == row.case_id, col(CaseNeed.resolved_at).is_(None))
    )
    trigger_ids = sorted({t for need in needs for t in need.trigger_ids})
    proposal = await uow.session.get(ProviderProposal, row.provider)
    basis = AgreementBasis(
        framework_pack=uow.framework.id,
        framework_version=str(uow.framework.version),
        proposal_id=proposal.proposal_id if proposal else None,
        trigger_ids=trigger_ids[:200],
        pathway=[step["action"] for step in proposal.pathway][:100] if proposal else [],
    )
    return basis.model_dump(mode="json")
