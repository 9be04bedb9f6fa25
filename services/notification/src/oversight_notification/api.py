"""Notification's HTTP API: alerts as a list and as a live server-sent-event stream.

Both carry only alerts about providers the signed-in user oversees, whatever ``audience`` it asks
for: the audience narrows what the user may see, it never widens it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Query, Request
from pydantic import BaseModel
from sqlmodel import col, select
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from oversight_contracts import OdsCode
from oversight_notification.storage import Alert, AlertAudience
from oversight_runtime.access import Principal, ProviderScope
from oversight_runtime.limits import TooManyStreams
from oversight_runtime.security import PROTECTED_RESPONSES, require, restrict
from oversight_runtime.service import OversightService, service_of

router = APIRouter(prefix="/v1", tags=["alerts"], responses=PROTECTED_RESPONSES)
#: The change channel the alert handler announces a stored alert on (``UnitOfWork.changed``).
ALERTS_CHANNEL = "alerts"
#: A stream idle this long reads again anyway: a safety net should an announcement be lost (a
#: replica's listener reconnecting), never the way an alert normally arrives.
STREAM_IDLE_READ_SECONDS = 15.0
#: Alerts a stream reads at a time; a full page is followed at once by the next.
STREAM_PAGE = 100
STREAM_RETRY_AFTER_SECONDS = 10
#: Alert ids are the table's 32-bit integer key: a cursor beyond that is a client error, not a
#: database overflow.
MAX_ALERT_ID = 2**31 - 1


class AlertPublic(BaseModel):
    id: int
    alert_id: UUID
    provider: str
    provider_name: str
    kind: str
    title: str
    body: str
    audiences: list[str]
    correlation_id: UUID
    created_at: datetime


def _check_audience(service: OversightService, audience: str | None) -> None:
    if audience is not None:
        service.registry.oversight_team(audience)


async def _alerts_after(
    service: OversightService,
    scope: ProviderScope,
    after: int,
    audience: str | None,
    provider: str | None,
    limit: int,
) -> list[AlertPublic]:
    query = select(Alert).where(col(Alert.id) > after).order_by(col(Alert.id)).limit(limit)
    query = restrict(query, col(Alert.provider), scope)
    if audience is not None:
        query = query.where(
            col(Alert.id).in_(select(AlertAudience.alert_id).where(AlertAudience.organisation == audience))
        )
    if provider is not None:
        query = query.where(Alert.provider == provider)
    async with service.unit_of_work() as uow:
        alerts: Sequence[Alert] = (await uow.session.exec(query)).all()
        audiences = (
            await uow.session.exec(
                select(AlertAudience).where(col(AlertAudience.alert_id).in_([a.id for a in alerts]))
            )
        ).all()
    return [
        AlertPublic(
            **alert.model_dump(exclude={"source_event_id"}),
            audiences=[a.organisation for a in audiences if a.alert_id == alert.id],
        )
        for alert in alerts
    ]


@router.get(
    "/alerts",
    response_model=list[AlertPublic],
    responses={404: {"description": "Unknown audience or provider ODS code."}},
)
async def list_alerts(
    request: Request,
    principal: Annotated[Principal, require("alerts.read")],
    audience: Annotated[OdsCode | None, Query(description="ICB or region ODS code")] = None,
    provider: OdsCode | None = None,
    after: Annotated[int, Query(ge=0, le=MAX_ALERT_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertPublic]:
    """Alerts about the providers you oversee, oldest first, after the ``after`` cursor."""
    service = service_of(request)
    _check_audience(service, audience)
    if provider is not None:
        service.registry.provider(provider)
        service.access.ensure_in_scope(principal, provider, loc=("query", "provider"))
    return await _alerts_after(service, service.access.scope(principal), after, audience, provider, limit)


@router.get(
    "/alerts/stream",
    response_class=EventSourceResponse,
    responses={
        404: {"description": "Unknown audience ODS code."},
        429: {
            "description": "Too many live streams open (yours, or the service's); retry after Retry-After."
        },
    },
)
async def stream_alerts(
    request: Request,
    principal: Annotated[Principal, require("alerts.read")],
    audience: Annotated[OdsCode | None, Query(description="ICB or region ODS code")] = None,
    last_event_id: Annotated[int, Header(alias="Last-Event-ID", ge=0, le=MAX_ALERT_ID)] = 0,
) -> EventSourceResponse:
    """Live alerts about the providers you oversee, as server-sent events; reconnecting with
    Last-Event-ID misses nothing."""
    service = service_of(request)
    _check_audience(service, audience)
    scope = service.access.scope(principal)
    try:
        slot = service.streams.acquire(principal.user_id)
    except TooManyStreams as refused:
        raise HTTPException(
            429,
            detail=[{"loc": [], "msg": f"{refused.reason}; close one first", "type": "too_many_streams"}],
            headers={"Retry-After": str(STREAM_RETRY_AFTER_SECONDS)},
        ) from None

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in _alert_events(service, scope, request, last_event_id, audience):
                yield event
        finally:
            slot.release()

    return EventSourceResponse(events(), ping=15, background=BackgroundTask(slot.release))


async def _alert_events(
    service: OversightService,
    scope: ProviderScope,
    request: Request,
    last_event_id: int,
    audience: str | None,
) -> AsyncIterator[dict[str, Any]]:
    """Alerts after ``last_event_id`` as they are stored, until the client goes.

    The database is read only when an alert may have been stored: between reads the stream waits
    on the service's change feed, woken once a transaction that stored an alert commits, in this
    replica or (PostgreSQL) any other. The feed's version is taken before each read, so an alert
    committed between the read and the wait wakes the wait at once. When the client goes, the
    response cancels this generator wherever it waits (sse-starlette watches for the disconnect).
    """
    changes = service.changes
    after = last_event_id
    while not await request.is_disconnected():
        seen = changes.version(ALERTS_CHANNEL)
        alerts = await _alerts_after(service, scope, after, audience, None, STREAM_PAGE)
        for alert in alerts:
            after = alert.id
            yield {"id": str(alert.id), "event": "alert", "data": alert.model_dump_json()}
        if len(alerts) < STREAM_PAGE:
            await changes.wait(ALERTS_CHANNEL, seen, STREAM_IDLE_READ_SECONDS)
