"""The transactional outbox and its relay.

An event is written as a row in the same transaction as the state change that causes it, so a
crash can never leave one without the other. The relay publishes rows in order with Kafka's
idempotent producer, a batch at a time (sent together, awaited together, marked in one
statement), and marks them published. A row that can never be published (larger than the broker
takes) is parked instead, so it cannot hold up the rows behind it; it goes out of order if it is
re-driven later. It also sweeps on a timer, which is what recovers rows a crash left behind
(eShop's outbox has no such sweep; ours must). A row may be published twice if a crash falls
between the send and the mark; consumers de-duplicate on the event id, so that is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from opentelemetry import propagate
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from oversight_contracts import Envelope
from oversight_runtime.database import Database
from oversight_runtime.producer import MessageTooLarge
from oversight_runtime.storage import OutboxMessage, utcnow
from oversight_runtime.telemetry import ServiceMetrics

log = logging.getLogger(__name__)

#: Sends rows together; one result per row, in order: None when the broker has it, else the error.
Publish = Callable[[Sequence[OutboxMessage]], Awaitable[list[Exception | None]]]
#: Errors that mean a row can never be published as it is: it is parked, not retried.
UNPUBLISHABLE = (MessageTooLarge, MessageSizeTooLargeError, RecordTooLargeError)


def outbox_values(event: Envelope[Any]) -> dict[str, Any]:
    """The outbox row for an event, with the trace context of the transaction publishing it.

    Values rather than an ORM object: the unit of work writes a batch's rows in one statement
    just before its commit (see ``UnitOfWork.publish``).
    """
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": event.topic(),
        "key": event.subject,
        "correlation_id": event.correlation_id,
        "payload": event.model_dump_json(),
        "headers": headers,
        "created_at": utcnow(),
        "published_at": None,
        "parked_at": None,
        "attempts": 0,
        "last_error": None,
    }


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publish: Publish,
        metrics: ServiceMetrics,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        background_topics: frozenset[str] = frozenset(),
    ) -> None:
        self.database = database
        #: Topics of events published in volume that no one waits on (e.g. metric.evaluated):
        #: their rows go after the others', so an urgent event (a trigger) is never queued behind
        #: thousands of them. Each topic keeps its own order.
        self.background_topics = background_topics
        self.publish = publish
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        #: When the relay last started failing to publish (monotonic), and why; None when well.
        self._failing_since: float | None = None
        self.last_error: str | None = None

    def failing_for(self) -> float | None:
        """Seconds the relay has been unable to publish, or None when its last try went out."""
        return None if self._failing_since is None else time.monotonic() - self._failing_since

    def _failed(self, error: BaseException) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self.last_error = f"{type(error).__name__}: {error}"[:300]

    def _succeeded(self) -> None:
        self._failing_since, self.last_error = None, None

    def wake(self) -> None:
        """Publish soon: called after a transaction that staged events commits."""
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except Exception as error:
                log.exception("outbox sweep failed; retrying after the poll interval")
                self._failed(error)
                published = 0
            if published >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows in order; returns how many went out or aside.

        The batch is sent together and awaited together, then marked published in one statement.
        Rows are marked up to the first that failed; the rest are sent again next time (consumers
        de-duplicate), so a row is never marked before an earlier one that failed.

        On PostgreSQL the rows are locked (SKIP LOCKED) while being sent, so two replicas never
        send the same batch, and a crashed relay's locks vanish with its connection. On SQLite one
        process owns the file and runs the only relay, so the rows are read, sent and marked in
        two short transactions: the service's one connection is not held while the broker
        answers, which in an outage takes seconds.
        """
        if self.database.is_sqlite:
            async with self.database.transaction() as session:
                rows = await self._due(session, lock=False)
            results = await self.publish(rows) if rows else []
            async with self.database.transaction() as session:
                return await self._record(session, rows, results)
        async with self.database.transaction() as session:
            rows = await self._due(session, lock=True)
            results = await self.publish(rows) if rows else []
            return await self._record(session, rows, results)

    async def _due(self, session: AsyncSession, *, lock: bool) -> list[OutboxMessage]:
        query = (
            select(OutboxMessage)
            .where(col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None))
            .order_by(*self._order())
            .limit(self.batch_size)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list((await session.exec(query)).all())

    def _order(self) -> list[Any]:
        by_id = col(OutboxMessage.id)
        if not self.background_topics:
            return [by_id]
        return [col(OutboxMessage.topic).in_(sorted(self.background_topics)), by_id]  # False first

    async def _record(
        self, session: AsyncSession, rows: list[OutboxMessage], results: list[Exception | None]
    ) -> int:
        """Mark what went out, park what never can, note the first failure; returns how many
        rows are done with."""
        published: list[OutboxMessage] = []
        parked = 0
        for row, failure in zip(rows, results, strict=True):
            if failure is None:
                published.append(row)
            elif isinstance(failure, UNPUBLISHABLE):  # never publishable: aside, later rows flow
                await self._park(session, row, failure)
                parked += 1
            else:  # keep order: nothing after the first failure counts as sent
                await _note(session, row, failure)
                log.warning("outbox publish failed for %s: %s", row.event_id, failure)
                self._failed(failure)
                break
        await self._mark_published(session, published)
        if len(published) + parked == len(rows):
            self._succeeded()  # everything due went out or aside (or nothing was due)
        pending = await session.scalar(
            select(func.count()).where(
                col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None)
            )
        )
        self.metrics.outbox_pending.set(pending or 0)
        return len(published) + parked

    async def _mark_published(self, session: AsyncSession, rows: list[OutboxMessage]) -> None:
        """One UPDATE for the whole batch, not one per row."""
        if not rows:
            return
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([row.id for row in rows]))
            .values(published_at=utcnow(), attempts=col(OutboxMessage.attempts) + 1)
            .execution_options(synchronize_session=False)
        )
        for row in rows:
            self.metrics.outbox_published.labels(row.topic).inc()

    async def _park(self, session: AsyncSession, row: OutboxMessage, error: BaseException) -> None:
        noted = await _note(session, row, error, parked=True)
        self.metrics.outbox_parked.labels(row.topic).inc()
        log.error(
            "outbox row %s (%s, event %s) can never be published and is parked: %s; "
            "`oversight outbox redrive` sends it once the cause is fixed",
            row.id,
            row.event_type,
            row.event_id,
            noted,
        )


async def _note(
    session: AsyncSession, row: OutboxMessage, error: BaseException, *, parked: bool = False
) -> str:
    """Record a failed attempt at a row (and park it), by statement: on SQLite the row was read
    in an earlier transaction."""
    message = f"{type(error).__name__}: {error}"[:2000]
    values: dict[str, Any] = {"attempts": col(OutboxMessage.attempts) + 1, "last_error": message}
    if parked:
        values["parked_at"] = utcnow()
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return message
