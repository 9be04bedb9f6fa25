"""Look at what is parked, and send it back once the cause is fixed.

Two places hold parked work:

- the **dead-letter topics** (``<topic>.dlq``): messages a consumer could not process, each with
  the error and the original topic, partition and offset in ``x-dlq-*`` headers. Re-driving
  publishes the original key, value and headers back to the original topic; consumers
  de-duplicate by event id, so re-driving a message twice changes nothing. A copy whose value was
  cut to an excerpt (``x-dlq-truncated``) cannot be re-driven: the original is gone.
- the **outbox** of a service (rows with ``parked_at``): events that could never be published as
  they were. Re-driving clears ``parked_at`` and the relay sends them on its next sweep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlmodel import col, select

from oversight_contracts import DEAD_LETTER_SUFFIX
from oversight_runtime.database import Database
from oversight_runtime.storage import OutboxMessage


@dataclass(frozen=True)
class ParkedMessage:
    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None

    @property
    def original_topic(self) -> str:
        return self.header("x-dlq-original-topic") or self.dlq_topic.removesuffix(DEAD_LETTER_SUFFIX)

    @property
    def place(self) -> str:
        """How a parked message is named on the command line: ``partition:offset``."""
        return f"{self.partition}:{self.offset}"

    @property
    def truncated(self) -> bool:
        return self.header("x-dlq-truncated") is not None

    def event_id(self) -> str | None:
        try:
            document = json.loads(self.value)
        except ValueError:
            return None
        return str(document.get("id")) if isinstance(document, dict) and "id" in document else None

    def summary(self) -> dict[str, Any]:
        return {
            "dead_letter_topic": self.dlq_topic,
            "at": self.place,
            "original": f"{self.original_topic}[{self.header('x-dlq-original-partition')}]"
            f"@{self.header('x-dlq-original-offset')}",
            "event_id": self.event_id(),
            "key": self.key.decode("utf-8", "replace") if self.key else None,
            "failure": self.header("x-dlq-failure"),
            "error": (self.header("x-dlq-error") or "").splitlines()[0][:300]
            if self.header("x-dlq-error")
            else None,
            "attempts": self.header("x-dlq-attempts"),
            "service": self.header("x-dlq-service"),
            "truncated": self.header("x-dlq-truncated"),
        }


async def parked_messages(bootstrap: str, original_topic: str | None = None) -> list[ParkedMessage]:
    """Everything on the dead-letter topics (or on one topic's), oldest first per partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.endswith(DEAD_LETTER_SUFFIX))
        if original_topic is not None:
            topics = [t for t in topics if t == original_topic + DEAD_LETTER_SUFFIX]
        await consumer._client.force_metadata_update()  # topics() does not fill the consumer's own view
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[ParkedMessage] = []
        deadline = time.monotonic() + 60
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError("could not read the dead-letter topics to their end within 60 s")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [
                    ParkedMessage(
                        r.topic, r.partition, r.offset, r.key, r.value or b"", tuple(r.headers or ())
                    )
                    for r in records
                    if r.offset < ends[TopicPartition(r.topic, r.partition)]
                ]
        return sorted(found, key=lambda m: (m.dlq_topic, m.partition, m.offset))
    finally:
        await consumer.stop()


class CannotRedrive(ValueError):
    """A parked message that cannot go back as it is (its value was cut to an excerpt)."""


async def redrive_messages(bootstrap: str, messages: Iterable[ParkedMessage]) -> int:
    """Publish each parked message back to its original topic; returns how many went."""
    chosen = list(messages)
    for message in chosen:
        if message.truncated:
            raise CannotRedrive(
                f"{message.dlq_topic} {message.place} was parked as an excerpt ({message.header('x-dlq-truncated')}): "
                "the original is not on the dead-letter topic, so it cannot be sent back"
            )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for message in chosen:
            headers = [(k, v) for k, v in message.headers if not k.startswith("x-dlq-")]
            headers.append(("x-redriven-from", f"{message.dlq_topic}@{message.place}".encode()))
            await producer.send_and_wait(
                message.original_topic, value=message.value, key=message.key, headers=headers
            )
    finally:
        await producer.stop()
    return len(chosen)


async def parked_rows(database: Database) -> list[OutboxMessage]:
    async with database.transaction() as session:
        query = (
            select(OutboxMessage)
            .where(col(OutboxMessage.parked_at).is_not(None))
            .order_by(col(OutboxMessage.id))
        )
        return list((await session.exec(query)).all())


async def redrive_rows(database: Database, ids: Iterable[int] | None) -> int:
    """Clear ``parked_at`` on the given parked rows (all when ``ids`` is None) for the relay."""
    async with database.transaction() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.parked_at).is_not(None))
        if ids is not None:
            query = query.where(col(OutboxMessage.id).in_(list(ids)))
        rows = (await session.exec(query)).all()
        for row in rows:
            row.parked_at = None
        return len(rows)
