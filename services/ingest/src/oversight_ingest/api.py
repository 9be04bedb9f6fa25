"""Ingest's HTTP API: trusts post exception reports and returns, oversight teams record facts and
concerns; each becomes an event. Who sent it is the signed-in user, never a field of the body."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oversight_contracts import Actor, Envelope
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
from oversight_runtime.access import Principal
from oversight_runtime.idempotency import IdempotencyKey
from oversight_runtime.security import BODY_RESPONSES, PROTECTED_RESPONSES, require
from oversight_runtime.service import current_correlation_id, service_of
from oversight_runtime.storage import ActedBy
from oversight_runtime.unit_of_work import UnitOfWork

router = APIRouter(prefix="/v1", tags=["ingest"], responses=PROTECTED_RESPONSES)

WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **BODY_RESPONSES,
    403: {"description": "The user may not send this, or not for this provider; nothing was stored."},
    422: {"description": "Invalid input or unknown provider; nothing was stored."},
}


#: Builds the event for an accepted body from (unit of work, new id, today, correlation id, actor);
#: the domain's rules raise ``Rejected`` (422) before anything is stored.
Accept = Callable[[UnitOfWork, UUID, date, UUID, Actor], Envelope[Any]]
#: Builds the row to keep from the event and the time it was received.
Keep = Callable[[Envelope[Any], datetime], ActedBy]


async def _accept(
    request: Request,
    principal: Principal,
    action: str,
    *,
    body: Any,
    key: str | None,
    accept: Accept,
    keep: Keep,
    public: type[Any],
) -> JSONResponse:
    """The one path of every write: in scope, idempotent, stored and published together."""
    service = service_of(request)
    domain.require_known_provider(service.registry, body.provider)
    service.access.ensure_in_scope(principal, body.provider, loc=("body", "provider"))
    actor = principal.actor(action, service.access.policy)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        item_id = uuid4()
        event = accept(uow, item_id, now.date(), UUID(current_correlation_id()), actor)
        uow.session.add(keep(event, now))
        uow.publish(event)
        answer = public(
            **body.model_dump(),
            id=item_id,
            correlation_id=event.correlation_id,
            received_at=now,
            actor=actor,
        )
        return 202, answer.model_dump(mode="json")

    return await service.idempotent_write(request, principal, key=key, body=body, effect=effect)


@router.post(
    "/exception-reports", status_code=202, response_model=ExceptionReportPublic, responses=WRITE_RESPONSES
)
async def post_exception_report(
    report: ExceptionReportCreate,
    request: Request,
    principal: Annotated[Principal, require("exception_report.submit")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Report a material event by exception for your own trust (framework para 21 and Figure 2)."""
    return await _accept(
        request,
        principal,
        "exception_report.submit",
        body=report,
        key=idempotency_key,
        accept=lambda uow, new_id, today, correlation, actor: domain.accept_exception_report(
            report,
            registry=uow.registry,
            report_id=new_id,
            today=today,
            correlation_id=correlation,
            actor=actor,
        ),
        keep=lambda event, now: ExceptionReportRecord(
            id=event.data.report_id,
            correlation_id=event.correlation_id,
            received_at=now,
            **report.model_dump(),
            **ActedBy.of(event.data.actor),
        ),
        public=ExceptionReportPublic,
    )


@router.post("/submissions", status_code=202, response_model=SubmissionPublic, responses=WRITE_RESPONSES)
async def post_submission(
    submission: SubmissionCreate,
    request: Request,
    principal: Annotated[Principal, require("submission.submit")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit your own trust's return: a batch of metric values for one month (para 18)."""
    return await _accept(
        request,
        principal,
        "submission.submit",
        body=submission,
        key=idempotency_key,
        accept=lambda uow, new_id, today, correlation, actor: domain.accept_submission(
            submission,
            registry=uow.registry,
            framework=uow.framework,
            submission_id=new_id,
            today=today,
            correlation_id=correlation,
            actor=actor,
        ),
        keep=lambda event, now: SubmissionRecord(
            id=event.data.submission_id,
            correlation_id=event.correlation_id,
            received_at=now,
            **submission.model_dump(),
            **ActedBy.of(event.data.actor),
        ),
        public=SubmissionPublic,
    )


@router.post(
    "/provider-facts", status_code=202, response_model=ProviderFactsPublic, responses=WRITE_RESPONSES
)
async def post_provider_facts(
    facts: ProviderFactsCreate,
    request: Request,
    principal: Annotated[Principal, require("provider_facts.record")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """An ICS or regional user records CQC or Use of Resources ratings, licence status, special
    measures and other facts about a provider they oversee."""
    return await _accept(
        request,
        principal,
        "provider_facts.record",
        body=facts,
        key=idempotency_key,
        accept=lambda uow, new_id, today, correlation, actor: domain.accept_provider_facts(
            facts,
            registry=uow.registry,
            facts_id=new_id,
            today=today,
            correlation_id=correlation,
            actor=actor,
        ),
        keep=lambda event, now: ProviderFactsEntry(
            id=event.data.facts_id,
            provider=facts.provider,
            facts=facts.model_dump(mode="json", include=set(FACT_FIELDS)),
            recorded_on=facts.recorded_on,
            correlation_id=event.correlation_id,
            received_at=now,
            **ActedBy.of(event.data.actor),
        ),
        public=ProviderFactsPublic,
    )


@router.post(
    "/material-concerns", status_code=202, response_model=MaterialConcernPublic, responses=WRITE_RESPONSES
)
async def post_material_concern(
    concern: MaterialConcernCreate,
    request: Request,
    principal: Annotated[Principal, require("material_concern.raise")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """An ICS or regional user records a material concern from intelligence about a provider they
    oversee."""
    return await _accept(
        request,
        principal,
        "material_concern.raise",
        body=concern,
        key=idempotency_key,
        accept=lambda uow, new_id, today, correlation, actor: domain.accept_material_concern(
            concern,
            registry=uow.registry,
            concern_id=new_id,
            today=today,
            correlation_id=correlation,
            actor=actor,
        ),
        keep=lambda event, now: MaterialConcernRecord(
            id=event.data.concern_id,
            correlation_id=event.correlation_id,
            received_at=now,
            **concern.model_dump(),
            **ActedBy.of(event.data.actor),
        ),
        public=MaterialConcernPublic,
    )


@router.get(
    "/exception-reports/{report_id}",
    response_model=ExceptionReportPublic,
    responses={404: {"description": "No such exception report."}},
)
async def get_exception_report(
    report_id: UUID, request: Request, principal: Annotated[Principal, require("returns.read")]
) -> ExceptionReportPublic:
    record = await service_of(request).get_in_scope(
        principal, ExceptionReportRecord, report_id, what="exception report", loc="report_id"
    )
    return ExceptionReportPublic(**record.model_dump(exclude=_ACTOR_COLUMNS), actor=record.recorded_actor())


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionPublic,
    responses={404: {"description": "No such submission."}},
)
async def get_submission(
    submission_id: UUID, request: Request, principal: Annotated[Principal, require("returns.read")]
) -> SubmissionPublic:
    record = await service_of(request).get_in_scope(
        principal, SubmissionRecord, submission_id, what="submission", loc="submission_id"
    )
    return SubmissionPublic(**record.model_dump(exclude=_ACTOR_COLUMNS), actor=record.recorded_actor())


_ACTOR_COLUMNS = set(ActedBy.model_fields)
