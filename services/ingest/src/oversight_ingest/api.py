"""Ingest's HTTP API: trusts post exception reports and returns, oversight teams record facts and
concerns; each becomes an event. Who sent it is the signed-in user, never a field of the body."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, cast
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from oversight_contracts import Actor, Envelope
from oversight_contracts.scenario import FACT_FIELDS
from oversight_ingest import domain
from oversight_ingest.models import (
    BULK_MAX_ITEMS,
    AcceptedReturn,
    BulkSubmissionAccepted,
    ExceptionReportCreate,
    ExceptionReportPublic,
    MaterialConcernCreate,
    MaterialConcernPublic,
    ProviderFactsCreate,
    ProviderFactsPublic,
    SubmissionBatch,
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
from oversight_runtime.errors import Rejected, printable
from oversight_runtime.idempotency import IdempotencyKey
from oversight_runtime.security import BODY_RESPONSES, PROTECTED_RESPONSES, require
from oversight_runtime.service import OversightService, current_correlation_id, service_of
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
        _store(uow, [(event, keep(event, now))])
        answer = public(
            **body.model_dump(),
            id=item_id,
            correlation_id=event.correlation_id,
            received_at=now,
            actor=actor,
        )
        return 202, answer.model_dump(mode="json")

    return await service.idempotent_write(request, principal, key=key, body=body, effect=effect)


def _store(uow: UnitOfWork, kept: Sequence[tuple[Envelope[Any], ActedBy]]) -> None:
    """Keep each row and stage its event in the same transaction, so a row is stored if and only
    if its event will be published; rows are added together, with no flush per row."""
    uow.session.add_all([row for _event, row in kept])
    for event, _row in kept:
        uow.publish(event)


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
        accept=_accept_submission(submission),
        keep=_keep_submission(submission),
        public=SubmissionPublic,
    )


def _accept_submission(submission: SubmissionCreate) -> Accept:
    """The domain's rules for one return: the same whether it came alone or in bulk."""
    return lambda uow, new_id, today, correlation, actor: domain.accept_submission(
        submission,
        registry=uow.registry,
        framework=uow.framework,
        submission_id=new_id,
        today=today,
        correlation_id=correlation,
        actor=actor,
    )


def _keep_submission(submission: SubmissionCreate) -> Keep:
    """The row one return is kept as: the same whether it came alone or in bulk."""
    return lambda event, now: SubmissionRecord(
        id=event.data.submission_id,
        correlation_id=event.correlation_id,
        received_at=now,
        **submission.model_dump(),
        **ActedBy.of(event.data.actor),
    )


# --- many returns in one request ---------------------------------------------------------------

JSON_ARRAY = "application/json"
NDJSON = "application/x-ndjson"
#: A bulk request's body may be this large (every other route takes ``max_body_bytes``, 64 KiB):
#: 1,000 returns of a typical 28 metrics are about 1.3 MB, and a return may hold up to 500.
BULK_MAX_BODY_BYTES = 8 * 1024 * 1024

_RETURN = {"$ref": "#/components/schemas/SubmissionCreate"}
BULK_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        f"1 to {BULK_MAX_ITEMS} returns, each exactly the body of `POST /v1/submissions`, as a JSON "
        f"array or as NDJSON (one return per line; blank lines are ignored); at most "
        f"{BULK_MAX_BODY_BYTES // (1024 * 1024)} MiB."
    ),
    "content": {
        JSON_ARRAY: {
            "schema": {"type": "array", "items": _RETURN, "minItems": 1, "maxItems": BULK_MAX_ITEMS}
        },
        NDJSON: {
            "schema": {
                "type": "string",
                "description": "Newline-delimited JSON: one SubmissionCreate object per line.",
            }
        },
    },
}

BULK_RESPONSES: dict[int | str, dict[str, Any]] = {
    **WRITE_RESPONSES,
    403: {
        "description": "The user may not submit returns, or not for a provider a return names; nothing was stored."
    },
    413: {"description": f"The body is over {BULK_MAX_BODY_BYTES} bytes; nothing was stored."},
    415: {"description": f"The body is neither {JSON_ARRAY} nor {NDJSON}; nothing was stored."},
    422: {
        "description": (
            f"A return is invalid (each error's loc names it: body, its index, the field), or there "
            f"are none or over {BULK_MAX_ITEMS}; nothing was stored."
        )
    },
}


@router.post(
    "/submissions/bulk",
    status_code=202,
    response_model=BulkSubmissionAccepted,
    responses=BULK_RESPONSES,
    openapi_extra={"requestBody": BULK_REQUEST_BODY},
    max_body_size=BULK_MAX_BODY_BYTES,
)
async def post_submissions_in_bulk(
    request: Request,
    principal: Annotated[Principal, require("submission.submit")],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit many of your own trust's returns at once (a national dataset import, a quarter-end
    burst, a backfill). All or nothing: every return is checked as ``POST /v1/submissions`` checks
    one before any is stored; then each is stored and published as its own return, in one
    transaction."""
    service = service_of(request)
    batch = await _read_returns(request)
    _admit_all(service, principal, batch.root)
    actor = principal.actor("submission.submit", service.access.policy)

    async def effect(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        now = datetime.now(UTC)
        correlation = UUID(current_correlation_id())
        ids = [uuid4() for _ in batch.root]
        events = domain.for_each_item(
            batch.root,
            lambda index, submission: _accept_submission(submission)(
                uow, ids[index], now.date(), correlation, actor
            ),
        )
        _store(
            uow,
            [
                (event, _keep_submission(submission)(event, now))
                for submission, event in zip(batch.root, events, strict=True)
            ],
        )
        answer = BulkSubmissionAccepted(
            count=len(events),
            received_at=now,
            actor=actor,
            accepted=[
                AcceptedReturn(
                    id=ids[index],
                    provider=submission.provider,
                    period=submission.period,
                    correlation_id=correlation,
                )
                for index, submission in enumerate(batch.root)
            ],
        )
        return 202, answer.model_dump(mode="json")

    return await service.idempotent_write(request, principal, key=idempotency_key, body=batch, effect=effect)


@router.api_route(
    "/submissions/bulk",
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
    responses={405: {"description": "Only POST."}},
)
async def bulk_takes_only_post() -> JSONResponse:
    """405, as for any method a path does not take: without this route, ``GET
    /v1/submissions/bulk`` would reach ``GET /v1/submissions/{submission_id}`` (declared after it)
    and answer 422, "bulk" being no UUID."""
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "POST"})


def _admit_all(service: OversightService, principal: Principal, submissions: list[SubmissionCreate]) -> None:
    """What ``_accept`` checks of one body, for each, before a transaction begins: every unknown
    provider first (one 422 naming them all), then scope (403 naming the first return of a
    provider outside it); each provider's scope is checked once, however many returns name it."""
    domain.for_each_item(
        submissions,
        lambda _index, submission: domain.require_known_provider(service.registry, submission.provider),
    )
    first_return_of: dict[str, int] = {}
    for index, submission in enumerate(submissions):
        first_return_of.setdefault(submission.provider, index)
    for provider, index in first_return_of.items():
        # ``ensure_in_scope`` types loc as strings only; an index is as valid there as in ``Rejected``.
        loc = cast(tuple[str, ...], ("body", index, "provider"))
        service.access.ensure_in_scope(principal, provider, loc=loc)


async def _read_returns(request: Request) -> SubmissionBatch:
    """The returns of a bulk request, read by its content type and validated as ``POST
    /v1/submissions`` validates its body, each error under its return's index."""
    media_type = _bulk_media_type(request)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(
            400, [{"loc": ["body"], "msg": "the body is not UTF-8 text", "type": "body_not_utf8"}]
        ) from None
    items = _json_array(text) if media_type == JSON_ARRAY else _ndjson(text)
    try:
        return SubmissionBatch.model_validate(items)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def _bulk_media_type(request: Request) -> str:
    """JSON array or NDJSON: anything else is refused (415) before the body is read."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in {JSON_ARRAY, NDJSON}:
        sent = f"not {printable(content_type)}" if content_type else "with a Content-Type header"
        raise HTTPException(
            415,
            [
                {
                    "loc": ["header", "Content-Type"],
                    "msg": f"send the returns as {JSON_ARRAY} (one array) or {NDJSON} (one per line), {sent}",
                    "type": "unsupported_media_type",
                }
            ],
        )
    return media_type


def _json_array(text: str) -> list[Any]:
    """A JSON array of at most ``BULK_MAX_ITEMS`` items, counted before any is validated."""
    value = _parse_json(text)
    if not isinstance(value, list):
        raise Rejected.field(("body",), "send a JSON array of returns", "array_expected")
    _not_too_many(len(value))
    return value


def _ndjson(text: str) -> list[Any]:
    """One JSON value per non-blank line; lines are counted before any is parsed. An error names
    the return by its index (blank lines do not count) and says which line of the body it is on.
    Lines end at ``\n`` (or ``\r\n``) only: a JSON string may hold U+2028 and other breaks."""
    lines = [(number, line) for number, line in enumerate(text.split("\n"), 1) if line.strip(" \t\r")]
    _not_too_many(len(lines))
    return domain.for_each_item(lines, lambda _index, numbered: _parse_json(numbered[1], line=numbered[0]))


def _not_too_many(count: int) -> None:
    if count > BULK_MAX_ITEMS:
        raise Rejected.field(
            ("body",),
            f"{count} returns: at most {BULK_MAX_ITEMS} per request; send the rest in another",
            "too_many_items",
        )


def _parse_json(text: str, *, line: int | None = None) -> Any:
    """Parsed as FastAPI parses a JSON body; what is not JSON is a 422 saying where."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {line or error.lineno}, column {error.colno}"
        raise Rejected.field(("body",), f"not JSON: {error.msg} ({where})", "json_invalid") from None
    except RecursionError:
        raise Rejected.field(
            ("body",), "not JSON this service reads: nested too deeply", "json_invalid"
        ) from None


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
