"""The measures on the broker alone: the raw relay rate (the ceiling) and the replay.

Both use aiokafka directly, as the services do underneath FastStream, on the same broker and
with the same kind of messages (serialized envelopes of ~0.5-5 kB), so a service's rate divided
by the relay's says how much of the broker's pace the service's own work leaves.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError

from oversight_contracts import ALL_EVENTS, Envelope
from oversight_runtime.topics import ensure_topics
from pipeline.stack import Offsets, log, produce
from pipeline.workload import Workload

#: How often each type occurs in the replayed history (a guess at a busy platform: a return
#: gives 28 evaluations, a few triggers, and proposals and needs follow some of them).
REPLAY_MIX: dict[str, float] = {
    "metric.evaluated.v1": 40,
    "submission.received.v2": 8,
    "trigger.raised.v2": 12,
    "trigger.cleared.v2": 8,
    "segment.proposed.v2": 12,
    "support_need.identified.v2": 8,
    "support_package.proposed.v2": 6,
    "exception_report.received.v2": 6,
}
#: What a consumer reads at once: the services' default batch (``consumer_batch_size``).
BATCH = 500


@dataclass(frozen=True)
class Template:
    """A serialized event split around its id, so that copies are distinct events cheaply."""

    topic: str
    type: str
    key: bytes
    prefix: bytes
    suffix: bytes

    @classmethod
    def of(cls, event: Envelope[Any]) -> Template:
        value = event.model_dump_json().encode()
        at = value.index(str(event.id).encode())
        return cls(event.topic(), event.type, event.subject.encode(), value[:at], value[at + 36 :])

    def copy(self, topic: str | None = None) -> tuple[str, bytes, bytes]:
        """(topic, key, value) of a new event like this one; on its own topic unless told."""
        return topic or self.topic, self.key, self.prefix + str(uuid4()).encode() + self.suffix


def copies(
    templates: Sequence[Template],
    weights: Sequence[float],
    count: int,
    seed: int,
    topic: str | None = None,
) -> Iterator[tuple[str, bytes, bytes]]:
    """``count`` new events drawn from ``templates`` by ``weights``, made as they are sent (a
    million serialized events would take more memory than the measured services)."""
    rng = random.Random(seed)
    left = count
    while left > 0:
        chunk = min(left, 10_000)
        for template in rng.choices(templates, weights=weights, k=chunk):
            yield template.copy(topic)
        left -= chunk


def _rate(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


async def relay(bootstrap: str, workload: Workload, messages: int) -> dict[str, Any]:
    """(a) One consumer in a group reads batches (``getmany``), one producer relays each message
    to another topic, and the offsets are committed once the batch's sends are acknowledged:
    what a service does around its handlers, with no handler.

    Timed like a drain: from the first commit to the last, over the messages after the first
    commit, so the group join and the first fetch are excluded from both.
    """
    run = uuid4().hex[:8]
    source, target = f"bench.relay.{run}.in", f"bench.relay.{run}.out"
    await ensure_topics(bootstrap, [source, target])
    templates = [Template.of(workload.submission(r)) for r in workload.interleaved()[:500]]
    written = await produce(
        bootstrap, copies(templates, [1.0] * len(templates), messages, workload.seed, source)
    )
    size = sum(len(t.prefix) + 36 + len(t.suffix) for t in templates) / len(templates)
    log(f"relay: {written} messages of ~{size:.0f} bytes on {source}; relaying to {target}")
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-relay-{run}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await consumer.start()
    await producer.start()
    relayed = 0
    first: tuple[float, int] | None = None
    try:
        while relayed < written:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            sends = [
                await producer.send(target, m.value, m.key, headers=list(m.headers or ()))
                for records in batches.values()
                for m in records
            ]
            await asyncio.gather(*sends)
            await consumer.commit()
            relayed += len(sends)
            if first is None and relayed:
                first = (time.perf_counter(), relayed)
        last = time.perf_counter()
    finally:
        await producer.stop()
        await consumer.stop()
    assert first is not None
    seconds = last - first[0]
    return {
        "messages": written,
        "message_bytes": round(size),
        "batch": BATCH,
        "seconds": round(seconds, 3),
        "per_second": _rate(written - first[1], seconds),
    }


async def replay(bootstrap: str, workload: Workload, events: int, workdir: Path) -> dict[str, Any]:
    """(d) Put ``events`` events on the platform's topics, then time one consumer in a fresh
    group reading every platform topic from the beginning, decoding each record into its
    contract model (by topic) and keeping a count per provider and type in SQLite, upserted in
    one transaction per batch, with the offsets committed after each.

    Everything already on the topics (the other measures' events) is read too, and counted.
    """
    variety = workload.variety(per_type=200)
    templates = [Template.of(e) for e in variety if e.type in REPLAY_MIX]
    per_type = Counter(t.type for t in templates)
    weights = [REPLAY_MIX[t.type] / per_type[t.type] for t in templates]
    log(f"replay: producing {events} events of {len(per_type)} types over {len(per_type)} topics")
    started = time.perf_counter()
    written = await produce(bootstrap, copies(templates, weights, events, workload.seed))
    produce_seconds = time.perf_counter() - started
    log(f"replay: produced {written} in {produce_seconds:.1f} s ({written / produce_seconds:,.0f}/s)")

    models: dict[str, type[Envelope[Any]]] = {e.topic(): e for e in ALL_EVENTS}
    async with Offsets(bootstrap) as offsets:
        existing = [t for t in await offsets.admin.list_topics() if t in models]
        partitions = await offsets.partitions(existing)
        expected = sum((await offsets.ends(partitions)).values())
        expected -= sum((await offsets.reader.beginning_offsets(partitions)).values())
    database = sqlite3.connect(workdir / "replay.db", isolation_level=None)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute(
        "CREATE TABLE events_seen (provider TEXT, type TEXT, n INTEGER, PRIMARY KEY (provider, type))"
    )
    consumer = AIOKafkaConsumer(
        *existing,
        bootstrap_servers=bootstrap,
        group_id=f"bench-replay-{uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    read = undecodable = 0
    log(f"replay: reading {expected:,} events from {len(existing)} topics")
    started = time.perf_counter()
    await consumer.start()
    try:
        next_report = started + 15
        while read < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            seen: Counter[tuple[str, str]] = Counter()
            for tp, records in batches.items():
                model = models[tp.topic]
                for record in records:
                    try:
                        event = model.model_validate_json(record.value or b"")
                    except ValidationError:
                        undecodable += 1
                        continue
                    seen[event.subject, event.type] += 1
                read += len(records)
            if seen:
                database.execute("BEGIN")
                database.executemany(
                    "INSERT INTO events_seen (provider, type, n) VALUES (?, ?, ?) "
                    "ON CONFLICT (provider, type) DO UPDATE SET n = n + excluded.n",
                    [(provider, kind, n) for (provider, kind), n in seen.items()],
                )
                database.execute("COMMIT")
                await consumer.commit()
            if time.perf_counter() > next_report:
                log(f"replay: {read:,} of {expected:,} read")
                next_report += 15
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        counted = database.execute("SELECT COALESCE(SUM(n), 0) FROM events_seen").fetchone()[0]
        database.close()
    return {
        "produced": written,
        "produce_seconds": round(produce_seconds, 2),
        "produce_per_second": _rate(written, produce_seconds),
        "read": read,
        "counted": counted,
        "undecodable": undecodable,
        "topics": len(existing),
        "seconds": round(seconds, 2),
        "per_second": _rate(read, seconds),
    }
