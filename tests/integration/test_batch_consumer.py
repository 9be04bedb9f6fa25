"""The batch consumer on a real PostgreSQL: a batch commits together; a failure splits it and each
event then gets the dead-letter policy of one message; redelivered and repeated events change
nothing; work asked ``once`` runs once per provider per batch.

Records are handed to the consumer as Kafka would hand them, without a broker; the same
behaviour on the real broker is proven by tests/e2e/test_poison_messages.py and
tests/e2e/test_crash_recovery.py. Dead-letter copies are collected instead of published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

import oversight_ingest
from oversight_contracts import (
    AnyTriggerRaised,
    MetricEvaluated,
    SubmissionReceived,
    TriggerRaised,
    TriggerRaisedV2,
    TriggerReviewDueV2,
)
from oversight_metrics.main import create_service as create_metrics
from oversight_metrics.storage import Observation
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_runtime.storage import OutboxMessage, ProcessedEvent
from oversight_runtime.unit_of_work import UnitOfWork
from tests.support.events import trigger_raised

pytestmark = [pytest.mark.postgres]

#: What the handler under test does besides its effect: fail for some events, count calls.
BEHAVIOUR: dict[str, Any] = {}


def _handlers() -> EventHandlers:
    handlers = EventHandlers()

    @handlers.on(TriggerRaised, TriggerRaisedV2)
    async def review(uow: UnitOfWork, event: AnyTriggerRaised) -> None:
        """Publish a review for the trigger's provider (the effect), and ask for one summary per
        provider per batch."""
        BEHAVIOUR["calls"].append(event.id)
        if event.data.evidence in BEHAVIOUR.get("broken", ()):
            raise RuntimeError(f"cannot apply {event.data.evidence}")
        if BEHAVIOUR.get("transient", 0) > 0:
            BEHAVIOUR["transient"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        uow.publish(_review(event, event.data.evidence))

        async def summary() -> None:
            BEHAVIOUR["summaries"].append((event.subject, event.data.evidence))

        uow.once(("summary", event.subject), summary)

    return handlers


def _review(cause: AnyTriggerRaised, reason: str) -> TriggerReviewDueV2:
    return TriggerReviewDueV2.new(
        source="batch-test",
        subject=cause.subject,
        cause=cause,
        data={"provider": cause.subject, "review_date": date(2026, 11, 1), "reason": reason},
    )


def _trigger(provider: str, evidence: str) -> TriggerRaised:
    return trigger_raised(provider, evidence=evidence)


def _record(offset: int, key: bytes, value: bytes, topic: str = "") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic or TriggerRaised.topic(),
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=[],
    )


def _records(events: list[TriggerRaised | bytes]) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        _record(n, b"RJ1", e)
        if isinstance(e, bytes)
        else _record(n, e.subject.encode(), e.model_dump_json().encode())
        for n, e in enumerate(events)
    ]


@pytest.fixture
async def service(new_database: Callable[[str], str]) -> Any:
    BEHAVIOUR.clear()
    BEHAVIOUR.update(calls=[], summaries=[])
    settings = ServiceSettings(
        service_name="batch-test",
        database_url=new_database("batch_consumer"),
        max_delivery_attempts=3,
        retry_backoff_seconds=0,
    )
    service = OversightService(
        "batch-test",
        migrations=Path(oversight_ingest.__file__).parent / "migrations",
        handlers=_handlers(),
        settings=settings,
    )
    await service.database.migrate(service.migrations)
    parked: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []

    async def park(topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        parked.append((topic, key, value, headers))

    service.dead_letters.publish = park
    service.dead_letters.max_backoff_seconds = 0.01
    service.parked = parked  # type: ignore[attr-defined]
    yield service
    await service.database.dispose()


async def _reviews(service: OversightService) -> list[str]:
    async with service.unit_of_work() as uow:
        rows = (await uow.session.exec(select(OutboxMessage))).all()
    return sorted(TriggerReviewDueV2.model_validate_json(r.payload).data.reason for r in rows)


async def _inbox(service: OversightService) -> int:
    async with service.unit_of_work() as uow:
        return int((await uow.session.exec(select(func.count()).select_from(ProcessedEvent))).one())


async def test_a_batch_commits_together_and_asks_once_per_provider(service: OversightService) -> None:
    events = [_trigger(p, f"{p}-{n}") for n, p in enumerate(["RJ1", "RJZ", "RJ1", "RJ1", "RJZ"])]
    await service.consumer.consume(_records(list(events)))
    assert await _reviews(service) == sorted(e.data.evidence for e in events)
    assert await _inbox(service) == len(events)
    # Once per provider, with the last event about it as the cause.
    assert sorted(BEHAVIOUR["summaries"]) == [("RJ1", "RJ1-3"), ("RJZ", "RJZ-4")]
    assert len(BEHAVIOUR["calls"]) == len(events)  # no split, no retry
    assert service.parked == []  # type: ignore[attr-defined]


async def test_a_failure_splits_the_batch_the_good_commit_once_and_the_bad_are_parked(
    service: OversightService,
) -> None:
    good = [_trigger("RJ1", f"good-{n}") for n in range(4)]
    broken = _trigger("RJZ", "broken")
    BEHAVIOUR["broken"] = {"broken"}
    batch: list[TriggerRaised | bytes] = [good[0], b"not json", good[1], broken, good[2], good[3]]
    await service.consumer.consume(_records(batch))

    # Each good event's effect exactly once, although the whole batch was tried first.
    assert await _reviews(service) == sorted(e.data.evidence for e in good)
    assert await _inbox(service) == len(good)
    parked = {value: dict(headers) for _topic, _key, value, headers in service.parked}  # type: ignore[attr-defined]
    assert set(parked) == {b"not json", broken.model_dump_json().encode()}
    assert parked[b"not json"]["x-dlq-failure"] == b"poison"
    assert parked[b"not json"]["x-dlq-attempts"] == b"1"
    assert parked[broken.model_dump_json().encode()]["x-dlq-failure"] == b"handler"
    assert parked[broken.model_dump_json().encode()]["x-dlq-attempts"] == b"3"
    assert parked[broken.model_dump_json().encode()]["x-dlq-original-offset"] == b"3"


async def test_redelivered_and_repeated_events_change_nothing(service: OversightService) -> None:
    events = [_trigger("RJ1", f"once-{n}") for n in range(3)]
    await service.consumer.consume(_records([*events, events[1]]))  # a repeat inside the batch
    await service.consumer.consume(_records(list(events)))  # the whole batch redelivered
    assert await _reviews(service) == sorted(e.data.evidence for e in events)
    assert await _inbox(service) == len(events)
    metrics = service.metrics.events_handled
    assert metrics.labels("batch-test.review", "applied")._value.get() == 3
    assert metrics.labels("batch-test.review", "duplicate")._value.get() == 4


async def test_a_transient_failure_retries_the_whole_batch_and_parks_nothing(
    service: OversightService,
) -> None:
    events = [_trigger("RJ1", f"wait-{n}") for n in range(3)]
    BEHAVIOUR["transient"] = 2
    await service.consumer.consume(_records(list(events)))
    assert await _reviews(service) == sorted(e.data.evidence for e in events)
    assert service.parked == []  # type: ignore[attr-defined]
    assert service.dead_letters.stalled == {}  # recovered
    stalled = service.metrics.transient_failures.labels(TriggerRaised.topic(), "OperationalError")
    assert stalled._value.get() == 2


async def test_when_parking_fails_nothing_after_the_poison_is_applied(service: OversightService) -> None:
    """The batch comes again (the subscriber seeks back); until then the events after the poison
    wait, and those before it are applied once (the inbox absorbs their redelivery)."""
    before, after = _trigger("RJ1", "before"), _trigger("RJ1", "after")

    async def refuse(*_copy: object) -> None:
        raise RuntimeError("the dead-letter topic refuses the copy")

    service.dead_letters.publish = refuse
    with pytest.raises(RuntimeError, match="refuses"):
        await service.consumer.consume(_records([before, b"not json", after]))
    assert await _reviews(service) == ["before"]
    service.dead_letters.publish = lambda *copy: _collect(service, *copy)
    await service.consumer.consume(_records([before, b"not json", after]))
    assert await _reviews(service) == ["after", "before"]
    assert [value for _topic, _key, value, _headers in service.parked] == [b"not json"]  # type: ignore[attr-defined]


async def _collect(service: OversightService, *copy: Any) -> None:
    service.parked.append(copy)  # type: ignore[attr-defined]


def _return(provider: str, period: str, values: dict[str, float]) -> SubmissionReceived:
    return SubmissionReceived.new(
        source="ingest",
        subject=provider,
        data={
            "submission_id": uuid4(),
            "provider": provider,
            "period": period,
            "observations": [{"metric": m, "value": v} for m, v in values.items()],
            "submitted_by": "test",
        },
    )


async def test_metrics_stores_a_batch_of_returns_and_a_resubmission_replaces_its_values(
    new_database: Callable[[str], str],
) -> None:
    """Metrics writes a return's values in one statement and tells a resubmission by the series
    it holds: the later value replaces the earlier and its evaluation says it was revised."""
    metrics = create_metrics(
        ServiceSettings(service_name="metrics", database_url=new_database("batch_metrics"))
    )
    await metrics.database.migrate(metrics.migrations)
    first = _return("RJ1", "2026-08", {"op_ae_4hr_pct": 71.0, "fin_liquidity_days": 10.0})
    again = _return("RJ1", "2026-08", {"op_ae_4hr_pct": 74.5})
    other = _return("RJZ", "2026-08", {"op_ae_4hr_pct": 90.0})
    records = [
        _record(n, e.subject.encode(), e.model_dump_json().encode(), topic=e.topic())
        for n, e in enumerate([first, other, again])
    ]
    await metrics.consumer.consume(records)
    async with metrics.unit_of_work() as uow:
        stored = {
            (o.provider, o.metric): o.value for o in (await uow.session.exec(select(Observation))).all()
        }
        evaluated = [
            MetricEvaluated.model_validate_json(r.payload).data
            for r in (await uow.session.exec(select(OutboxMessage))).all()
            if r.event_type == MetricEvaluated.event_type()
        ]
    assert stored == {
        ("RJ1", "op_ae_4hr_pct"): 74.5,
        ("RJ1", "fin_liquidity_days"): 10.0,
        ("RJZ", "op_ae_4hr_pct"): 90.0,
    }
    revised = [(e.provider, e.metric, e.value, e.revised) for e in evaluated if e.provider == "RJ1"]
    assert revised == [
        ("RJ1", "op_ae_4hr_pct", 71.0, False),
        ("RJ1", "fin_liquidity_days", 10.0, False),
        ("RJ1", "op_ae_4hr_pct", 74.5, True),
    ]
    await metrics.database.dispose()
