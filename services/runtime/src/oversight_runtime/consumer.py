"""Consuming in batches with the guarantees of consuming one event at a time.

A service reads every topic it consumes with one Kafka consumer (one group join, not one per
handler) and gets records in batches. A batch is applied in **one transaction**: the handlers'
effects, the inbox rows and the outbox rows of all its events commit together, and the offsets
are committed only after that (FastStream's acknowledgement), so a crash anywhere means a
redelivery that the inbox absorbs, never a loss. Records keep their order within a partition, and
a provider's events share a partition (the key), so a provider's events are applied in order.

Work that depends only on a provider's state after the batch (re-evaluating it, re-proposing its
segment) is asked for with ``UnitOfWork.once`` and runs once per provider per batch.

**A failure splits the batch.** We chose split-and-retry over a savepoint per event: the common
path has no savepoints, and a failure is rare. When the batch's transaction fails:

- on a transient failure (the database or the broker is away) the whole batch is retried with
  backoff for as long as it takes, the consumer marked stalled (``DeadLetterPolicy.stall``);
- on anything else the transaction is rolled back and each event is applied **alone**, in order,
  in its own transaction, under the dead-letter policy of one message (``dead_letters``): the
  good ones commit, the bad one is retried or parked on ``<topic>.dlq``, exactly as before batching.

A record that does not decode, breaks its contract or names an unknown provider is poison: it is
parked at once, in its place in the batch, and the rest of its batch is applied. If parking fails,
the error propagates before anything after it is applied, the subscriber seeks back to the
batch's first offsets, and the whole batch comes again (the inbox skips what was applied).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlmodel import col, select

from oversight_contracts import Envelope
from oversight_runtime.dead_letters import DeadLetterPolicy, PermanentError, classify
from oversight_runtime.handlers import HandlerRegistration
from oversight_runtime.reference import OrganisationRegistry
from oversight_runtime.storage import ProcessedEvent, utcnow
from oversight_runtime.telemetry import ServiceMetrics, correlation
from oversight_runtime.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass
class Delivery:
    """One record of a batch: its event and handler once decoded, or why it could not be."""

    record: ConsumerRecord[Any, Any]
    handler: str
    registration: HandlerRegistration | None = None
    event: Envelope[Any] | None = None
    problem: Exception | None = None


class BatchConsumer:
    def __init__(
        self,
        service: str,
        registrations: Sequence[HandlerRegistration],
        unit_of_work: UnitOfWorkFactory,
        registry: OrganisationRegistry,
        policy: DeadLetterPolicy,
        metrics: ServiceMetrics,
        tracer: trace.Tracer,
    ) -> None:
        self.service = service
        self.unit_of_work = unit_of_work
        self.registry = registry
        self.policy = policy
        self.metrics = metrics
        self.tracer = tracer
        #: topic → (the handler reading it, the event type on it)
        self.routes: dict[str, tuple[HandlerRegistration, type[Envelope[Any]]]] = {
            event_type.topic(): (registration, event_type)
            for registration in registrations
            for event_type in registration.event_types
        }

    @property
    def topics(self) -> list[str]:
        return list(self.routes)

    async def consume(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply a batch; returns once every record is applied or parked.

        Order is kept strictly: the good records before a poison one are applied (together), then
        the poison is parked, then the records after it. If parking fails, nothing after the
        poison has been applied when the batch comes again.
        """
        run: list[Delivery] = []
        for delivery in map(self.decode, records):
            if delivery.problem is None:
                run.append(delivery)
                continue
            await self._apply(run)
            run = []
            await self._apply_alone(delivery)  # poison: parked at once
        await self._apply(run)

    async def _apply(self, run: list[Delivery]) -> None:
        if len(run) > 1:
            run = await self._apply_together(run)
        for delivery in run:
            await self._apply_alone(delivery)

    def decode(self, record: ConsumerRecord[Any, Any]) -> Delivery:
        """The record's event, checked against its contract and the registry."""
        registration, event_type = self.routes[record.topic]
        delivery = Delivery(record, f"{self.service}.{registration.name}", registration)
        try:
            if record.value is None:
                raise PermanentError("an empty message is not an event")
            delivery.event = event_type.model_validate_json(record.value)
            check_provider(self.registry, delivery.event)
        except Exception as error:
            delivery.event, delivery.problem = None, error
        return delivery

    async def _apply_together(self, batch: list[Delivery]) -> list[Delivery]:
        """Apply the batch in one transaction, waiting out transient failures; returns the
        deliveries left to apply one by one (all of them after any other failure, else none)."""
        wait = min(max(self.policy.backoff_seconds, 0.05), self.policy.max_backoff_seconds)
        topics = sorted({d.record.topic for d in batch})
        while True:
            try:
                await self._transaction(batch)
            except Exception as error:
                if classify(error) != "transient":
                    log.info("a batch of %d failed (%s); applying its events one by one", len(batch), error)
                    return batch
                for topic in topics:
                    self.policy.stall(topic, error)
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.policy.max_backoff_seconds)
                continue
            for topic in topics:
                self.policy.recover(topic)
            return []

    async def _apply_alone(self, delivery: Delivery) -> None:
        """One record under the dead-letter policy of one message: retried, waited out or parked."""
        attempt = self.policy.attempt(delivery.record)

        async def once() -> None:
            if delivery.problem is not None:
                raise delivery.problem
            await self._transaction([delivery])

        try:
            await attempt.run(once)
        except Exception as error:
            if not await attempt.park(error):
                raise

    async def _transaction(self, batch: list[Delivery]) -> None:
        """Every event not yet in the inbox, its effects and its inbox row, in one transaction."""
        outcomes: list[tuple[str, str]] = []
        async with self.unit_of_work() as uow:
            done = await _processed(uow, batch)
            for delivery in batch:
                assert delivery.event is not None and delivery.registration is not None
                seen = (delivery.event.id, delivery.handler)
                if seen in done:
                    outcomes.append((delivery.handler, "duplicate"))
                    continue
                with self._span(delivery), correlation(delivery.event.correlation_id):
                    await delivery.registration.handle(uow, delivery.event)
                uow.insert_later(
                    ProcessedEvent,
                    {
                        "event_id": delivery.event.id,
                        "handler": delivery.handler,
                        "event_type": delivery.event.type,
                        "processed_at": utcnow(),
                    },
                )
                done.add(seen)
                outcomes.append((delivery.handler, "applied"))
        for handler, outcome in outcomes:
            self.metrics.events_handled.labels(handler, outcome).inc()

    def _span(self, delivery: Delivery) -> Any:
        """The event's own span, continuing the trace of the transaction that published it."""
        headers = {k: v.decode("utf-8", "replace") for k, v in delivery.record.headers or ()}
        return self.tracer.start_as_current_span(
            f"{delivery.record.topic} process",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": delivery.record.topic,
                "messaging.message.id": str(delivery.event.id if delivery.event else ""),
            },
        )


async def _processed(uow: UnitOfWork, batch: list[Delivery]) -> set[tuple[Any, str]]:
    """The (event, handler) pairs of the batch already in the inbox: one query for the batch."""
    ids = {d.event.id for d in batch if d.event is not None}
    rows = await uow.session.exec(
        select(ProcessedEvent.event_id, ProcessedEvent.handler).where(col(ProcessedEvent.event_id).in_(ids))
    )
    return {(event_id, handler) for event_id, handler in rows}


def check_provider(registry: OrganisationRegistry, event: Envelope[Any]) -> None:
    """Whatever upstream claims, an event is about a provider the registry knows, and its payload
    names the same provider as its subject (the Kafka key). Otherwise it is poison: parked."""
    registry.provider(event.subject)
    named = getattr(event.data, "provider", event.subject)
    if named != event.subject:
        raise PermanentError(f"event {event.id} is keyed to {event.subject} but its data names {named}")
