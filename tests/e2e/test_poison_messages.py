"""Malformed events among good ones: the good are processed, the bad are parked, none lost."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from oversight_contracts import DEAD_LETTER_SUFFIX, Envelope, TriggerRaised
from oversight_runtime.platform import SERVICES
from oversight_runtime.settings import ServiceSettings
from tests.contracts.test_events import _examples
from tests.support.db import count
from tests.support.events import trigger_raised
from tests.support.kafka_io import eventually, produce, read_topic
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _good(provider: str) -> TriggerRaised:
    return trigger_raised(provider, evidence="poison-test good message")


async def test_poison_messages_are_parked_and_the_stream_goes_on(
    platform: RunningPlatform, kafka: str
) -> None:
    db = platform.database_urls["segmentation"]
    good = [_good(p) for p in ("RJ1", "RJZ", "RJ1", "RJZ", "RJ1")]
    unknown_provider = _good("RJ1").model_dump(mode="json")
    unknown_provider["subject"] = unknown_provider["data"]["provider"] = "ZZZ99"
    marker = uuid4().hex
    poison: list[tuple[bytes | None, bytes]] = [
        (b"RJ1", f"not json at all {marker}".encode()),
        (b"RJ1", f'{{"id": "{marker}", "type": "trigger.raised.v1"}}'.encode()),
        (b"ZZZ99", TriggerRaised.model_validate(unknown_provider).model_dump_json().encode()),
    ]
    stream = [(e.subject.encode(), e.model_dump_json().encode()) for e in good]
    mixed = [stream[0], poison[0], stream[1], poison[1], stream[2], poison[2], stream[3], stream[4]]
    bad_values = {value for _, value in poison}

    await produce(kafka, TriggerRaised.topic(), mixed)

    ids = ",".join(f"'{e.id}'" for e in good)

    async def good_processed() -> bool:
        return await count(db, f"SELECT count(*) FROM processed_event WHERE event_id IN ({ids})") == len(good)

    await eventually(good_processed, timeout=60)

    async def bad_parked() -> list[object]:
        # Segmentation's copies: support coordination consumes the topic too, and parks its own.
        parked = await read_topic(kafka, TriggerRaised.dead_letter_topic())
        mine = [r for r in parked if r.value in bad_values and r.headers["x-dlq-service"] == b"segmentation"]
        return mine if len(mine) == len(poison) else []

    parked = await eventually(bad_parked, timeout=60)
    for record in parked:
        assert record.headers["x-dlq-original-topic"] == TriggerRaised.topic().encode()
        assert record.headers["x-dlq-service"] == b"segmentation"
        assert record.headers["x-dlq-error"]
        assert int(record.headers["x-dlq-original-offset"]) >= 0
    errors = {r.value: r.headers["x-dlq-error"].decode() for r in parked}
    assert "ZZZ99" in errors[poison[2][1]]  # the unknown provider is named in the error
    # Nothing good was parked.
    assert not {v for _, v in stream} & {
        r.value for r in await read_topic(kafka, TriggerRaised.dead_letter_topic())
    }


def _consumed() -> dict[str, type[Envelope[Any]]]:
    """Every topic a service of the platform consumes, with its event type."""
    consumed: dict[str, type[Envelope[Any]]] = {}
    for spec in SERVICES:
        service = spec.create(ServiceSettings(service_name=spec.name))
        for registration in service.handlers.registrations:
            consumed |= {e.topic(): e for e in registration.event_types}
    return consumed


def _about(event: Envelope[Any], provider: str, *, subject: str | None = None) -> bytes:
    """A valid event of the type, claiming to be about ``provider`` (and keyed to ``subject``)."""
    document = event.model_dump(mode="json")
    document["id"] = str(uuid4())
    document["subject"], document["data"]["provider"] = subject or provider, provider
    return type(event).model_validate(document).model_dump_json().encode()


async def test_an_unknown_or_mismatched_provider_is_parked_on_every_consumed_topic(
    platform: RunningPlatform, kafka: str
) -> None:
    """Whatever upstream claims, every consumer checks the provider against the registry and
    against the event's key; such events are parked at once, naming the problem."""
    examples = {type(e): e for e in _examples()}
    consumed = _consumed()
    assert len(consumed) >= 9  # every service's inputs, both versions of the ingest events
    sent: dict[bytes, str] = {}
    for topic, event_type in consumed.items():
        unknown = _about(examples[event_type], "ZZZ99")
        mismatched = _about(examples[event_type], "RJ1", subject="RJZ")
        await produce(kafka, topic, [(b"ZZZ99", unknown), (b"RJZ", mismatched)])
        sent |= {unknown: "ZZZ99", mismatched: "keyed to RJZ but its data names RJ1"}

    async def all_parked() -> dict[bytes, str]:
        found: dict[bytes, str] = {}
        for topic in consumed:
            for record in await read_topic(kafka, topic + DEAD_LETTER_SUFFIX):
                if record.value in sent:
                    found[record.value] = record.headers["x-dlq-error"].decode()
                    assert record.headers["x-dlq-failure"] == b"poison"
                    assert record.headers["x-dlq-attempts"] == b"1"
        return found if len(found) == len(sent) else {}

    parked = await eventually(all_parked, timeout=90)
    for value, problem in sent.items():
        assert problem in parked[value]
