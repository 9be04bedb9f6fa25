"""Triggers that clear by the calendar clear with no new event (metrics on a real PostgreSQL).

An exception report raises its trigger for the month it arrives and the month after (para 21:
cleared after two quiet months). Nothing arrives when those months pass, so the daily trigger
review sweep publishes ``trigger_review.due`` for each provider with open triggers, and the
metrics handler re-reads them in order with the provider's other events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from sqlmodel import col, select

from oversight_contracts import TriggerClearedV2, TriggerReviewDueV2
from oversight_contracts.scenario import ScenarioExceptionReport
from oversight_metrics import domain
from oversight_metrics.handlers import schedule_trigger_reviews
from oversight_metrics.main import create_service
from oversight_metrics.storage import ExceptionReportSeen, RaisedTrigger
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_runtime.storage import OutboxMessage
from tests.support.periods import first_day_months_ago

pytestmark = [pytest.mark.postgres]


async def _outbox(service: OversightService, event_type: str) -> list[OutboxMessage]:
    async with service.database.transaction() as session:
        rows = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.event_type == event_type)
            .order_by(col(OutboxMessage.id))
        )
        return list(rows)


async def _raise_old_report(
    service: OversightService, provider: str, received: date, *, cleared: bool
) -> str:
    """Store a report and the trigger it raised back then, as the handlers would have."""
    report = ScenarioExceptionReport(
        category="material_reputational_issue", received=received, summary="press"
    )
    history = domain.ProviderHistory(service.registry.provider(provider), {}, {}, [report], [])
    [trigger] = domain.evaluate_provider(history, service.framework, received).triggers
    async with service.database.transaction() as session:
        session.add(
            ExceptionReportSeen(
                id=uuid4(),
                provider=provider,
                category=report.category.value,
                summary="press",
                received=received,
            )
        )
        session.add(
            RaisedTrigger(
                id=uuid4(),
                provider=provider,
                key=trigger.key,
                code=trigger.code,
                theme=trigger.theme.value,
                evidence=trigger.evidence,
                source="exception_report:test",
                framework_paragraph=trigger.source,
                raised_at=datetime(received.year, received.month, received.day, tzinfo=UTC),
                cleared_at=datetime.now(UTC) if cleared else None,
            )
        )
    return trigger.key


async def test_the_daily_review_clears_a_trigger_whose_quiet_months_have_passed(
    new_database: Callable[[str], str],
) -> None:
    service = create_service(ServiceSettings(service_name="metrics", database_url=new_database("review")))
    await service.database.migrate(service.migrations)
    today = datetime.now(UTC).date()
    key = await _raise_old_report(service, "RJ1", first_day_months_ago(3, today), cleared=False)
    await _raise_old_report(service, "RJ7", first_day_months_ago(3, today), cleared=True)

    async with service.unit_of_work() as uow:
        assert await schedule_trigger_reviews(uow) == 1  # RJ1 only: RJ7 has no open trigger
    async with service.unit_of_work() as uow:
        assert await schedule_trigger_reviews(uow) == 0  # once a day
    [row] = await _outbox(service, TriggerReviewDueV2.event_type())
    review = TriggerReviewDueV2.model_validate_json(row.payload)
    assert row.key == "RJ1" and review.data.review_date == today

    [handler] = [r for r in service.handlers.registrations if TriggerReviewDueV2 in r.event_types]
    async with service.unit_of_work() as uow:
        await handler.handle(uow, review)

    [cleared_row] = await _outbox(service, TriggerClearedV2.event_type())
    cleared = TriggerClearedV2.model_validate_json(cleared_row.payload)
    assert cleared.data.key == key and cleared.data.provider == "RJ1"
    assert cleared.causation_id == review.id and cleared.correlation_id == review.correlation_id
    async with service.database.transaction() as session:
        trigger = (await session.exec(select(RaisedTrigger).where(RaisedTrigger.key == key))).first()
        assert trigger is not None and trigger.cleared_at is not None
    await service.database.dispose()


async def test_a_report_still_within_its_months_stays_raised_after_review(
    new_database: Callable[[str], str],
) -> None:
    service = create_service(ServiceSettings(service_name="metrics", database_url=new_database("review")))
    await service.database.migrate(service.migrations)
    today = datetime.now(UTC).date()
    await _raise_old_report(service, "RJ1", first_day_months_ago(1, today), cleared=False)
    async with service.unit_of_work() as uow:
        assert await schedule_trigger_reviews(uow) == 1
    [row] = await _outbox(service, TriggerReviewDueV2.event_type())
    [handler] = [r for r in service.handlers.registrations if TriggerReviewDueV2 in r.event_types]
    async with service.unit_of_work() as uow:
        await handler.handle(uow, TriggerReviewDueV2.model_validate_json(row.payload))
    assert await _outbox(service, TriggerClearedV2.event_type()) == []
    await service.database.dispose()
