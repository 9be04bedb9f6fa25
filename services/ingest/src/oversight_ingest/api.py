"""Ingest's HTTP API: trusts post exception reports and returns; each becomes an event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from oversight_contracts.scenario import FACT_FIELDS
from oversight_ingest import domain
from oversight_ingest.models import (
    ExceptionReportCreate,
    ExceptionReportPublic,
    MaterialConcernCreate,
    MaterialConcernPublic,
    ProviderFactsCreate,
    ProviderFactsPublic,
    SubmissionCreate,
    SubmissionPublic,
)
from oversight_ingest.storage import (
    ExceptionReportRecord,
    MaterialConcernRecord,
    ProviderFactsEntry,
    SubmissionRecord,
)
from oversight_runtime.idempotency import IdempotencyKey
from oversight_runtime.service import OversightService, current_correlation_id
from oversight_runtime.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["ingest"])


def _service(request: Request) -> OversightService:
    service: OversightService = request.app.state.service
    return service


@router.post(
    "/exception-reports",
    status_code=202,
    response_model=ExceptionReportPublic,
    responses={422: {"description": "Invalid report or unknown provider; nothing was stored."}},
)
async def post_exception_report(
    report: ExceptionReportCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Report a material event by exception (framework para 21 and Figure 2)."""
    service = _service(request)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        event = domain.accept_exception_report(
            report,
            registry=uow.registry,
            report_id=uuid4(),
            today=now.date(),
            correlation_id=UUID(current_correlation_id()),
        )
        record = ExceptionReportRecord(
            id=event.data.report_id,
            correlation_id=event.correlation_id,
            received_at=now,
            **report.model_dump(),
        )
        uow.session.add(record)
        uow.publish(event)
        public = ExceptionReportPublic.model_validate(record, from_attributes=True)
        return 202, public.model_dump(mode="json")

    return await service.idempotent_write(request, key=idempotency_key, body=report, effect=effect)


@router.get("/exception-reports/{report_id}", response_model=ExceptionReportPublic)
async def get_exception_report(report_id: UUID, request: Request) -> ExceptionReportRecord:
    async with _service(request).unit_of_work() as uow:
        record = await uow.session.get(ExceptionReportRecord, report_id)
    if record is None:
        raise HTTPException(404, f"no exception report {report_id}")
    return record


@router.post(
    "/submissions",
    status_code=202,
    response_model=SubmissionPublic,
    responses={422: {"description": "Invalid return or unknown provider; nothing was stored."}},
)
async def post_submission(
    submission: SubmissionCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Submit a return: a batch of metric values for one provider and one month (para 18)."""
    service = _service(request)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        event = domain.accept_submission(
            submission,
            registry=uow.registry,
            framework=uow.framework,
            submission_id=uuid4(),
            today=now.date(),
            correlation_id=UUID(current_correlation_id()),
        )
        record = SubmissionRecord(
            id=event.data.submission_id,
            correlation_id=event.correlation_id,
            received_at=now,
            **submission.model_dump(),
        )
        uow.session.add(record)
        uow.publish(event)
        public = SubmissionPublic.model_validate(record, from_attributes=True)
        return 202, public.model_dump(mode="json")

    return await service.idempotent_write(request, key=idempotency_key, body=submission, effect=effect)


@router.get("/submissions/{submission_id}", response_model=SubmissionPublic)
async def get_submission(submission_id: UUID, request: Request) -> SubmissionRecord:
    async with _service(request).unit_of_work() as uow:
        record = await uow.session.get(SubmissionRecord, submission_id)
    if record is None:
        raise HTTPException(404, f"no submission {submission_id}")
    return record


@router.post(
    "/provider-facts",
    status_code=202,
    response_model=ProviderFactsPublic,
    responses={422: {"description": "Invalid facts or unknown provider; nothing was stored."}},
)
async def post_provider_facts(
    facts: ProviderFactsCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Record CQC or Use of Resources ratings, licence status, special measures and other facts."""
    service = _service(request)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        event = domain.accept_provider_facts(
            facts,
            registry=uow.registry,
            facts_id=uuid4(),
            today=now.date(),
            correlation_id=UUID(current_correlation_id()),
        )
        uow.session.add(
            ProviderFactsEntry(
                id=event.data.facts_id,
                provider=facts.provider,
                facts=facts.model_dump(mode="json", include=set(FACT_FIELDS)),
                recorded_on=facts.recorded_on,
                recorded_by=facts.recorded_by,
                correlation_id=event.correlation_id,
                received_at=now,
            )
        )
        uow.publish(event)
        public = ProviderFactsPublic(
            **facts.model_dump(), id=event.data.facts_id, correlation_id=event.correlation_id, received_at=now
        )
        return 202, public.model_dump(mode="json")

    return await service.idempotent_write(request, key=idempotency_key, body=facts, effect=effect)


@router.post(
    "/material-concerns",
    status_code=202,
    response_model=MaterialConcernPublic,
    responses={422: {"description": "Invalid concern or unknown provider; nothing was stored."}},
)
async def post_material_concern(
    concern: MaterialConcernCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """An ICS or regional user records a material concern from intelligence."""
    service = _service(request)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        event = domain.accept_material_concern(
            concern,
            registry=uow.registry,
            concern_id=uuid4(),
            today=now.date(),
            correlation_id=UUID(current_correlation_id()),
        )
        record = MaterialConcernRecord(
            id=event.data.concern_id,
            correlation_id=event.correlation_id,
            received_at=now,
            **concern.model_dump(),
        )
        uow.session.add(record)
        uow.publish(event)
        public = MaterialConcernPublic.model_validate(record, from_attributes=True)
        return 202, public.model_dump(mode="json")

    return await service.idempotent_write(request, key=idempotency_key, body=concern, effect=effect)
