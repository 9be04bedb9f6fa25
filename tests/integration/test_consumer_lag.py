"""Consumer lag, measured against the real broker: what the group has not yet committed."""

from __future__ import annotations

from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from oversight_runtime.lag import measure_lag
from oversight_runtime.topics import ensure_topics
from tests.support.kafka_io import produce

pytestmark = [pytest.mark.kafka]


async def test_lag_counts_what_the_group_has_not_committed(kafka: str) -> None:
    topic = f"lag-test-{uuid4().hex[:8]}"
    group = f"lag-group-{uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic])
    await produce(kafka, topic, [(b"RJ1", f"m{i}".encode()) for i in range(7)])

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        before = await measure_lag(kafka, group, [topic])
        assert sum(before.values()) == 7 and len(before) == 3  # three partitions, nothing committed
        batch = await consumer.getmany(timeout_ms=5000)
        while sum(len(v) for v in batch.values()) < 7:
            more = await consumer.getmany(timeout_ms=5000)
            if not more:
                break
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
        first = next(iter(batch))
        await consumer.commit({first: batch[first][-1].offset + 1})
    finally:
        await consumer.stop()

    after = await measure_lag(kafka, group, [topic])
    assert after[TopicPartition(first.topic, first.partition)] == 0
    assert sum(after.values()) == 7 - len(batch[first])
