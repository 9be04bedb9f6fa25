"""The transactional outbox and its relay.

An event is written as a row in the same transaction as the state change that causes it, so a
crash can never leave one without the other. The relay publishes rows in order with Kafka's
idempotent producer and marks them published. A row that can never be published (larger than the
broker takes) is parked instead, so it cannot hold up the rows behind it; it goes out of order if
it is re-driven later. It also sweeps on a timer, which is what
recovers rows a crash left behind (eShop's outbox has no such sweep; ours must). A row may be
published twice if a crash falls between the send and the mark; consumers de-duplicate on the
event id, so that is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from opentelemetry import propagate
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from oversight_contracts import Envelope
from oversight_runtime.database import Database
from oversight_runtime.producer import MessageTooLarge
from oversight_runtime.storage import OutboxMessage, utcnow
from oversight_runtime.telemetry import ServiceMetrics

log = logging.getLogger(__name__)

Publish = Callable[[OutboxMessage], Awaitable[None]]
#: Errors that mean a row can never be published as it is: it is parked, not retried.
UNPUBLISHABLE = (MessageTooLarge, MessageSizeTooLargeError, RecordTooLargeError)


def stage(session: AsyncSession, event: Envelope[Any]) -> OutboxMessage:
    """Add an event to the outbox inside the caller's transaction."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    row = OutboxMessage(
        event_id=event.id,
        event_type=event.type,
        topic=event.topic(),
        key=event.subject,
        correlation_id=event.correlation_id,
        payload=event.model_dump_json(),
        headers=headers,
    )
    session.add(row)
    return row


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publish: Publish,
        metrics: ServiceMetrics,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
    ) -> None:
        self.database = database
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
        """Publish one batch of unpublished rows in order; returns how many went out.

        On PostgreSQL the rows are locked (SKIP LOCKED) while being sent, so two replicas never
        send the same batch, and a crashed relay's locks vanish with its connection.
        """
        published = 0
        async with self.database.transaction() as session:
            query = (
                select(OutboxMessage)
                .where(col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None))
                .order_by(col(OutboxMessage.id))
                .limit(self.batch_size)
            )
            if not self.database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.exec(query)).all()
            parked = 0
            for row in rows:
                try:
                    await self.publish(row)
                except UNPUBLISHABLE as error:  # never publishable: move it aside, later rows flow
                    self._park(row, error)
                    parked += 1
                    continue
                except Exception as error:  # keep order: stop at the first failure
                    row.attempts += 1
                    row.last_error = f"{type(error).__name__}: {error}"[:2000]
                    log.warning("outbox publish failed for %s: %s", row.event_id, error)
                    self._failed(error)
                    break
                row.published_at = utcnow()
                row.attempts += 1
                published += 1
                self.metrics.outbox_published.labels(row.topic).inc()
            if published + parked == len(rows):
                self._succeeded()  # everything due went out or aside (or nothing was due)
            pending = await session.scalar(
                select(func.count()).where(
                    col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None)
                )
            )
        self.metrics.outbox_pending.set(pending or 0)  # autoflush: already excludes this batch
        return published + parked

    def _park(self, row: OutboxMessage, error: BaseException) -> None:
        row.parked_at = utcnow()
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        self.metrics.outbox_parked.labels(row.topic).inc()
        log.error(
            "outbox row %s (%s, event %s) can never be published and is parked: %s; "
            "`oversight outbox redrive` sends it once the cause is fixed",
            row.id,
            row.event_type,
            row.event_id,
            row.last_error,
        )
