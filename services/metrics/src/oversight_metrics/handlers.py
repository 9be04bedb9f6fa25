"""Metrics' event handlers: store observations, raise triggers, publish through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlmodel import col, select

from oversight_contracts import ExceptionReportReceived, SubmissionReceived
from oversight_metrics import domain
from oversight_metrics.storage import Observation, RaisedTrigger
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.unit_of_work import UnitOfWork

handlers = EventHandlers()


@handlers.on(SubmissionReceived)
async def record_submission(uow: UnitOfWork, event: SubmissionReceived) -> None:
    """Store each value of a trust's return and publish one evaluation per value."""
    uow.registry.provider(event.data.provider)
    metrics = [o.metric for o in event.data.observations]
    existing = {
        o.metric: o
        for o in await uow.session.exec(
            select(Observation).where(
                Observation.provider == event.data.provider,
                Observation.period == event.data.period,
                col(Observation.metric).in_(metrics),
            )
        )
    }
    for value in event.data.observations:
        if (row := existing.get(value.metric)) is not None:
            row.value, row.submission_id = value.value, event.data.submission_id
        else:
            uow.session.add(
                Observation(
                    provider=event.data.provider,
                    metric=value.metric,
                    period=event.data.period,
                    value=value.value,
                    submission_id=event.data.submission_id,
                )
            )
    for evaluation in domain.evaluations_for_submission(event, set(existing)):
        uow.publish(evaluation)


@handlers.on(ExceptionReportReceived)
async def raise_exception_report_trigger(uow: UnitOfWork, event: ExceptionReportReceived) -> None:
    """An exception report is a trigger under the theme its category maps to."""
    uow.registry.provider(event.data.provider)
    trigger = domain.trigger_for_exception_report(
        event, uow.framework, trigger_id=uuid4(), now=datetime.now(UTC)
    )
    uow.session.add(
        RaisedTrigger(**trigger.data.model_dump(exclude={"trigger_id"}), id=trigger.data.trigger_id)
    )
    uow.publish(trigger)
