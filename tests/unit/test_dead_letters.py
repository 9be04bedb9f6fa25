"""The dead-letter middleware's policy: how often it retries and what it parks, without a broker.

The same behaviour is proven on the real broker in tests/e2e/test_poison_messages.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry

from oversight_runtime.dead_letters import DeadLetterMiddleware, DeadLetterPolicy, PermanentError
from oversight_runtime.reference import UnknownOrganisation
from oversight_runtime.telemetry import ServiceMetrics

Parked = list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]


def _record() -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="oversight.trigger.raised.v1",
        partition=2,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=b"RJ1",
        value=b'{"id": "x"}',
        checksum=None,
        serialized_key_size=3,
        serialized_value_size=11,
        headers=[("traceparent", b"00-abc")],
    )


def _middleware(parked: Parked, attempts: int = 3) -> DeadLetterMiddleware:
    async def publish(topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        parked.append((topic, key, value, headers))

    policy = DeadLetterPolicy(
        service="segmentation",
        max_attempts=attempts,
        backoff_seconds=0,
        metrics=ServiceMetrics(CollectorRegistry()),
        publish=publish,
    )
    return policy.middleware(_record(), context=None)


async def _fail_with(middleware: DeadLetterMiddleware, error: Exception) -> tuple[int, bool]:
    calls = 0

    async def handler(_msg: Any) -> None:
        nonlocal calls
        calls += 1
        raise error

    try:
        await middleware.consume_scope(handler, object())
    except Exception as raised:
        handled = await middleware.after_processed(type(raised), raised, None)
        return calls, bool(handled)
    return calls, False


async def test_transient_failure_is_retried_then_parked_with_its_story() -> None:
    parked: Parked = []
    calls, handled = await _fail_with(_middleware(parked, attempts=3), ConnectionError("database went away"))
    assert calls == 3 and handled
    [(topic, key, value, headers)] = parked
    assert topic == "oversight.trigger.raised.v1.dlq"
    assert (key, value) == (b"RJ1", b'{"id": "x"}')
    found = dict(headers)
    assert found["traceparent"] == b"00-abc"  # original headers kept
    assert found["x-dlq-error"] == b"ConnectionError: database went away"
    assert found["x-dlq-original-partition"] == b"2" and found["x-dlq-original-offset"] == b"41"
    assert found["x-dlq-attempts"] == b"3" and found["x-dlq-service"] == b"segmentation"


@pytest.mark.parametrize(
    "error",
    [PermanentError("bad"), ValueError("not JSON"), UnknownOrganisation("provider", "ZZZ99")],
    ids=["permanent", "malformed", "unknown-provider"],
)
async def test_permanent_failure_is_parked_at_once(error: Exception) -> None:
    parked: Parked = []
    calls, handled = await _fail_with(_middleware(parked, attempts=5), error)
    assert calls == 1 and handled and len(parked) == 1


async def test_success_needs_no_parking() -> None:
    parked: Parked = []
    middleware = _middleware(parked)

    async def handler(_msg: Any) -> str:
        return "done"

    assert await middleware.consume_scope(handler, object()) == "done"
    assert await middleware.after_processed(None, None, None) is False
    assert parked == []


async def test_a_failed_dead_letter_publish_propagates_so_the_offset_is_not_committed() -> None:
    async def broken(*_: Any) -> None:
        raise ConnectionError("broker down")

    middleware = _middleware([])
    middleware.policy.publish = broken
    with pytest.raises(ConnectionError):
        await middleware.after_processed(ValueError, ValueError("bad"), None)
