"""The outbox relay on PostgreSQL and Kafka: rows a crash left unpublished go out, in order, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import uuid4

import pytest
from sqlmodel import col, select

from oversight_contracts import ExceptionReportReceived, ExceptionReportReceivedData
from oversight_ingest.main import create_service
from oversight_runtime.settings import ServiceSettings
from oversight_runtime.storage import OutboxMessage
from tests.support.kafka_io import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _report(provider: str, n: int) -> ExceptionReportReceived:
    return ExceptionReportReceived.new(
        source="ingest",
        subject=provider,
        data=ExceptionReportReceivedData(
            report_id=uuid4(),
            provider=provider,
            category="material_reputational_issue",
            summary=f"relay test {n}",
            occurred_on=date(2026, 10, 1),
            reported_by="test",
        ),
    )


async def test_relay_publishes_rows_left_by_a_crash_in_order_and_only_once(
    kafka: str, new_database: Callable[[str], str]
) -> None:
    settings = ServiceSettings(
        service_name="ingest", kafka_bootstrap_servers=kafka, database_url=new_database("relay")
    )
    service = create_service(settings)
    await service.database.migrate(service.migrations)
    events = [_report("RJ7", n) for n in range(25)]
    # A previous process committed these and died before its relay ran.
    async with service.unit_of_work() as uow:
        for event in events:
            uow.publish(event)

    await service.broker.start()
    try:
        assert await service.relay.publish_pending() == len(events)
        assert await service.relay.publish_pending() == 0  # nothing left, nothing sent twice
    finally:
        await service.broker.stop()

    async with service.database.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    assert all(r.published_at is not None and r.attempts == 1 for r in rows)

    on_topic = [
        ExceptionReportReceived.model_validate_json(r.value)
        for r in await read_topic(kafka, ExceptionReportReceived.topic())
        if r.key == b"RJ7"
    ]
    mine = [e.id for e in on_topic if e.id in {x.id for x in events}]
    assert mine == [e.id for e in events]  # one provider's events keep their order
    await service.database.dispose()


async def test_relay_keeps_rows_when_the_broker_is_unreachable(new_database: Callable[[str], str]) -> None:
    settings = ServiceSettings(
        service_name="ingest", kafka_bootstrap_servers="127.0.0.1:1", database_url=new_database("relay_down")
    )
    service = create_service(settings)
    await service.database.migrate(service.migrations)
    async with service.unit_of_work() as uow:
        uow.publish(_report("RJ7", 0))
    # The broker was never started: publishing fails and the row stays pending with its error.
    assert await service.relay.publish_pending() == 0
    async with service.database.transaction() as session:
        [row] = (await session.exec(select(OutboxMessage))).all()
    assert row.published_at is None and row.attempts == 1 and row.last_error
    await service.database.dispose()
