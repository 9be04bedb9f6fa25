"""Reading and writing topics directly, as an outside observer of the platform."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from oversight_contracts import Envelope

E = TypeVar("E", bound=Envelope[Any])


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    def json(self) -> Any:
        return json.loads(self.value)


async def read_topic(bootstrap: str, topic: str) -> list[Record]:
    """Everything on a topic right now, from the first offset to the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Record] = []
        deadline = time.monotonic() + 30
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records += [Record(m.topic, m.key, m.value or b"", dict(m.headers or ())) for m in messages]
        return records
    finally:
        await consumer.stop()


async def read_events(bootstrap: str, event_type: type[E], provider: str | None = None) -> list[E]:
    """Every event of a type on its topic, as its model; only one provider's when it is named."""
    return [
        event_type.model_validate_json(r.value)
        for r in await read_topic(bootstrap, event_type.topic())
        if provider is None or r.key == provider.encode()
    ]


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def eventually(check: Any, timeout: float = 60, interval: float = 0.5) -> Any:
    """Poll an async check until it returns something truthy; the last result explains a failure."""
    deadline = time.monotonic() + timeout
    result = None
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
