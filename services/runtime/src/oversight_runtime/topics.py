"""Create the topics a service needs before it consumes or publishes."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

#: Partitions per topic: events are keyed by provider, so this bounds consumer parallelism.
PARTITIONS = 3


async def ensure_topics(bootstrap: str, topics: list[str], replication: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service was first
                await admin.create_topics(
                    [NewTopic(t, num_partitions=PARTITIONS, replication_factor=replication) for t in missing]
                )
    finally:
        await admin.close()
