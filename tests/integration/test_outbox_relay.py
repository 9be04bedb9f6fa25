"""The outbox relay on PostgreSQL and Kafka: rows a crash left unpublished go out, in order, once;
a producer wedged by a stale sequence is replaced; a row that can never be published is parked."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import OutOfOrderSequenceNumber
from prometheus_client import generate_latest
from sqlmodel import col, select

from oversight_contracts import ExceptionReportReceived, ExceptionReportReceivedData, TriggerReviewDueV2
from oversight_ingest.main import create_service
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_runtime.storage import OutboxMessage, utcnow
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

    await service.producer.start()
    try:
        assert await service.relay.publish_pending() == len(events)
        assert await service.relay.publish_pending() == 0  # nothing left, nothing sent twice
    finally:
        await service.producer.stop()

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
    assert service.relay.failing_for() is not None  # readiness will see it once it lasts
    await service.database.dispose()


def _service(kafka: str, database_url: str) -> OversightService:
    return create_service(
        ServiceSettings(service_name="ingest", kafka_bootstrap_servers=kafka, database_url=database_url)
    )


async def _rows(service: OversightService) -> list[OutboxMessage]:
    async with service.database.transaction() as session:
        return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


def _skip_sequence_numbers(service: OversightService, topic: str, key: bytes, skipped: int) -> None:
    """What expired batches do to an idempotent producer during a long broker outage: the
    producer's sequence runs ahead of what the broker has seen (aio-libs/aiokafka#1017)."""
    producer = service.producer._producer
    assert producer is not None
    partition = producer._partition(topic, None, None, None, key, b"")
    producer._txn_manager.increment_sequence_number(TopicPartition(topic, partition), skipped)


async def test_a_plain_idempotent_producer_never_recovers_from_a_stale_sequence(kafka: str) -> None:
    """The wedge this project met after broker outages of 40 s or more, reproduced at once."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait("oversight.relay-test.wedge", b"first", key=b"RJ7")
        partition = producer._partition("oversight.relay-test.wedge", None, None, None, b"RJ7", b"")
        producer._txn_manager.increment_sequence_number(
            TopicPartition("oversight.relay-test.wedge", partition), 5
        )
        for _ in range(3):
            with pytest.raises(OutOfOrderSequenceNumber):
                await asyncio.wait_for(
                    producer.send_and_wait("oversight.relay-test.wedge", b"again", key=b"RJ7"), 30
                )
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def test_the_relay_replaces_a_wedged_producer_and_publishes_every_row_once(
    kafka: str, new_database: Callable[[str], str]
) -> None:
    service = _service(kafka, new_database("relay_wedge"))
    await service.database.migrate(service.migrations)
    first, rest = _report("RJ7", 100), [_report("RJ7", 101 + n) for n in range(5)]
    async with service.unit_of_work() as uow:
        uow.publish(first)
    await service.producer.start()
    try:
        assert await service.relay.publish_pending() == 1
        _skip_sequence_numbers(service, ExceptionReportReceived.topic(), b"RJ7", 5)
        async with service.unit_of_work() as uow:
            for event in rest:
                uow.publish(event)
        assert await service.relay.publish_pending() == 0  # the stale producer fails, and is dropped
        assert service.producer.restarts == 1
        assert await service.relay.publish_pending() == len(rest)  # a new producer sends them all
    finally:
        await service.producer.stop()
    assert all(r.published_at is not None for r in await _rows(service))
    ids = {e.id for e in [first, *rest]}
    on_topic = [
        ExceptionReportReceived.model_validate_json(r.value).id
        for r in await read_topic(kafka, ExceptionReportReceived.topic())
        if r.key == b"RJ7"
    ]
    assert [i for i in on_topic if i in ids] == [e.id for e in [first, *rest]]  # each once, in order
    metrics = generate_latest(service.prometheus).decode()
    assert 'oversight_producer_restarts_total{producer="relay"} 1.0' in metrics
    await service.database.dispose()


async def test_a_row_too_large_to_publish_is_parked_and_the_rows_behind_it_flow(
    kafka: str, new_database: Callable[[str], str]
) -> None:
    service = _service(kafka, new_database("relay_oversized"))
    await service.database.migrate(service.migrations)
    before, after = _report("RJ7", 200), _report("RJ7", 202)
    huge = _report("RJ7", 201).model_copy(
        update={"data": _report("RJ7", 201).data.model_copy(update={"summary": "x" * 1_100_000})}
    )
    async with service.unit_of_work() as uow:
        for event in (before, huge, after):
            uow.publish(event)
    try:
        assert await service.relay.publish_pending() == 3
    finally:
        await service.producer.stop()
    rows = {r.event_id: r for r in await _rows(service)}
    assert rows[before.id].published_at and rows[after.id].published_at
    assert rows[huge.id].published_at is None and rows[huge.id].parked_at is not None
    assert "message limit" in (rows[huge.id].last_error or "")
    assert service.relay.failing_for() is None  # parking is not failing: later rows flow
    metrics = generate_latest(service.prometheus).decode()
    assert 'oversight_outbox_parked_total{topic="oversight.exception_report.received.v1"} 1.0' in metrics
    await service.database.dispose()


def _oversight(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "oversight"), *args], capture_output=True, text=True, timeout=60
    )


async def test_the_outbox_redrive_command_releases_parked_rows_to_the_relay(
    kafka: str, new_database: Callable[[str], str]
) -> None:
    """A row parked while the broker took only small messages (fixed since) goes out once the
    command releases it; an id that is not parked is refused and changes nothing."""
    url = new_database("relay_redrive")
    service = _service(kafka, url)
    await service.database.migrate(service.migrations)
    event = _report("RJ7", 300)
    async with service.unit_of_work() as uow:
        uow.publish(event)
    async with service.database.transaction() as session:
        [row] = (await session.exec(select(OutboxMessage))).all()
        row.parked_at, row.last_error = utcnow(), "MessageSizeTooLargeError: over the topic's limit"
    assert await service.relay.publish_pending() == 0  # parked rows are not sent

    listed = _oversight("outbox", "--service", "ingest", "--database-url", url, "list")
    assert listed.returncode == 0 and f"{row.id}  exception_report.received.v1" in listed.stdout
    assert "MessageSizeTooLargeError" in listed.stdout
    refused = _oversight("outbox", "--service", "ingest", "--database-url", url, "redrive", "--id", "99999")
    assert refused.returncode == 2 and "no parked row 99999" in refused.stderr
    released = _oversight(
        "outbox", "--service", "ingest", "--database-url", url, "redrive", "--id", str(row.id)
    )
    assert released.returncode == 0, released.stderr

    try:
        assert await service.relay.publish_pending() == 1
    finally:
        await service.producer.stop()
    [after] = await _rows(service)
    assert after.published_at is not None and after.parked_at is None
    await service.database.dispose()


def _review(provider: str) -> TriggerReviewDueV2:
    return TriggerReviewDueV2.new(
        source="metrics",
        subject=provider,
        data={"provider": provider, "review_date": date(2026, 11, 1), "reason": "relay order test"},
    )


async def test_a_batch_goes_out_together_urgent_rows_first_and_is_marked_up_to_the_first_failure(
    new_database: Callable[[str], str],
) -> None:
    """Rows on background topics (sent in volume, waited on by no one) go after the others, each
    topic in its own order; after a failed send only the rows before it count as sent."""
    service = _service("127.0.0.1:1", new_database("relay_batches"))
    await service.database.migrate(service.migrations)
    background = [_report("RJ7", n) for n in range(4)]
    urgent = [_review("RJ7"), _review("RJZ")]
    async with service.unit_of_work() as uow:
        for event in [background[0], background[1], urgent[0], background[2], urgent[1], background[3]]:
            uow.publish(event)
    service.relay.background_topics = frozenset({ExceptionReportReceived.topic()})
    batches: list[list[str]] = []
    fail_at: list[int] = [3]

    async def publish(rows: Sequence[OutboxMessage]) -> list[Exception | None]:
        batches.append([str(r.event_id) for r in rows])
        return [RuntimeError("broker said no") if n in fail_at else None for n in range(len(rows))]

    service.relay.publish = publish
    assert await service.relay.publish_pending() == 3  # the fourth failed: it and those after wait
    fail_at.clear()
    assert await service.relay.publish_pending() == 3
    order = [str(e.id) for e in [*urgent, *background]]
    assert batches == [order, order[3:]]
    rows = await _rows(service)
    assert all(r.published_at is not None for r in rows)
    # The failed row counts two attempts; those sent after it in the same batch are not counted.
    assert {str(r.event_id): r.attempts for r in rows} == {i: 2 if n == 3 else 1 for n, i in enumerate(order)}
    await service.database.dispose()
