"""Consumer lag, which FastStream does not export: end offset minus the group's committed offset."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from oversight_runtime.telemetry import ServiceMetrics

log = logging.getLogger(__name__)


async def measure_lag(bootstrap: str, group: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await reader.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        described = await admin.describe_topics(topics)
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic.get("error_code", 0) == 0
            for partition in topic["partitions"]
        ]
        ends = await reader.end_offsets(partitions) if partitions else {}
        return {
            tp: end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
            for tp, end in ends.items()
        }
    finally:
        await reader.stop()
        await admin.close()


async def watch_lag(
    bootstrap: str, group: str, topics: list[str], metrics: ServiceMetrics, every: float
) -> None:
    while True:
        try:
            for tp, lag in (await measure_lag(bootstrap, group, topics)).items():
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
        except Exception as error:  # lag is advisory: never let it take the service down
            log.warning("could not measure consumer lag: %s", error)
        await asyncio.sleep(every)
