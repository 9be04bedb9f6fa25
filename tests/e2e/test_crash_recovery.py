"""Kill a consumer service mid-stream with SIGKILL; after a restart every effect exists once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from oversight_contracts import Theme, TriggerRaised, TriggerRaisedData
from oversight_runtime.reference import load_registry
from tests.support.db import count
from tests.support.kafka_io import eventually, produce, read_topic
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

STREAM = 300


def _trigger_stream() -> list[TriggerRaised]:
    """Triggers for many (provider, theme) pairs: some open a new need, some join an open one.

    The providers and themes of the other end-to-end tests are left alone, so they still see
    their own new needs.
    """
    providers = [
        p.ods_code for p in load_registry().providers if p.ods_code not in {"RJ1", "RJZ", "RJ2", "RJ6"}
    ]
    themes = [Theme.OPERATIONAL_PERFORMANCE, Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY]
    pairs = itertools.cycle(itertools.product(providers, themes))
    events = []
    for _ in range(STREAM):
        provider, theme = next(pairs)
        events.append(
            TriggerRaised.new(
                source="metrics",
                subject=provider,
                data=TriggerRaisedData(
                    trigger_id=uuid4(),
                    provider=provider,
                    code="material_concern",
                    theme=theme,
                    evidence="crash-test stream",
                    source="test",
                    framework_paragraph="para 24",
                    raised_at=datetime.now(UTC),
                ),
            )
        )
    return events


async def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(
    platform: RunningPlatform, kafka: str
) -> None:
    segmentation = platform.services["segmentation"]
    db = platform.database_urls["segmentation"]
    needs_before = await count(db, "SELECT count(*) FROM support_need")
    events = _trigger_stream()
    pairs = {(e.data.provider, e.data.theme) for e in events}
    # Only this stream's events: other tests' events (a daily review, say) may be handled meanwhile.
    ids = ",".join(f"'{e.id}'" for e in events)
    processed = f"SELECT count(*) FROM processed_event WHERE event_id IN ({ids})"

    await produce(
        kafka, TriggerRaised.topic(), [(e.subject.encode(), e.model_dump_json().encode()) for e in events]
    )

    async def some_processed() -> int:
        done = await count(db, processed)
        return done if done >= 20 else 0

    done_at_kill = await eventually(some_processed, timeout=60, interval=0.05)
    segmentation.kill()
    assert done_at_kill < STREAM, "the stream finished before the crash; make it longer"

    segmentation.start()
    segmentation.wait_ready()

    async def all_processed() -> bool:
        return await count(db, processed) == STREAM

    await eventually(all_processed, timeout=120)
    trigger_ids = ",".join(f"'{e.data.trigger_id}'" for e in events)
    assert await count(db, f"SELECT count(*) FROM need_trigger WHERE trigger_id IN ({trigger_ids})") == STREAM
    new_needs = await count(db, "SELECT count(*) FROM support_need") - needs_before
    assert new_needs <= len(pairs)  # earlier tests may already have opened some of these needs

    async def outbox_drained() -> bool:
        return await count(db, "SELECT count(*) FROM outbox_message WHERE published_at IS NULL") == 0

    await eventually(outbox_drained, timeout=30)

    # Every new need went out once; downstream, support coordination opened one package each.
    async def packages_for_all_needs() -> bool:
        needs = await count(db, "SELECT count(*) FROM support_need")
        packages = await count(
            platform.database_urls["support-coordination"], "SELECT count(*) FROM support_package"
        )
        return needs == packages

    await eventually(packages_for_all_needs, timeout=60)
    parked = await read_topic(kafka, TriggerRaised.dead_letter_topic())
    assert all(str(e.id).encode() not in r.value for e in events for r in parked)
