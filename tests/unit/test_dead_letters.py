"""The dead-letter policy: how often it retries and what it parks, without a broker.

The same behaviour is proven on the real broker in tests/e2e/test_poison_messages.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from oversight_contracts import TriggerRaisedData
from oversight_runtime.dead_letters import (
    MAX_PARKED_VALUE_BYTES,
    DeadLetterPolicy,
    DeliveryAttempt,
    PermanentError,
)
from oversight_runtime.reference import UnknownOrganisation
from oversight_runtime.telemetry import ServiceMetrics

Parked = list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]


def _validation_error() -> ValidationError:
    try:
        TriggerRaisedData.model_validate({"provider": "not an ods code"})
    except ValidationError as error:
        return error
    raise AssertionError("expected a validation error")


def _record(value: bytes = b'{"id": "x"}') -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="oversight.trigger.raised.v1",
        partition=2,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=b"RJ1",
        value=value,
        checksum=None,
        serialized_key_size=3,
        serialized_value_size=len(value),
        headers=[("traceparent", b"00-abc")],
    )


def _attempt(parked: Parked, attempts: int = 3) -> DeliveryAttempt:
    async def publish(topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        parked.append((topic, key, value, headers))

    policy = DeadLetterPolicy(
        service="segmentation",
        max_attempts=attempts,
        backoff_seconds=0,
        metrics=ServiceMetrics(CollectorRegistry()),
        publish=publish,
        max_backoff_seconds=0.001,
    )
    return policy.attempt(_record())


async def _fail_with(attempt: DeliveryAttempt, error: Exception) -> tuple[int, bool]:
    calls = 0

    async def handler(_msg: Any) -> None:
        nonlocal calls
        calls += 1
        raise error

    try:
        await attempt.run(lambda: handler(None))
    except Exception as raised:
        handled = await attempt.park(raised)
        return calls, bool(handled)
    return calls, False


async def test_a_handler_error_is_retried_then_parked_with_its_story() -> None:
    parked: Parked = []
    calls, handled = await _fail_with(_attempt(parked, attempts=3), RuntimeError("rule could not be applied"))
    assert calls == 3 and handled
    [(topic, key, value, headers)] = parked
    assert topic == "oversight.trigger.raised.v1.dlq"
    assert (key, value) == (b"RJ1", b'{"id": "x"}')
    found = dict(headers)
    assert found["traceparent"] == b"00-abc"  # original headers kept
    assert found["x-dlq-error"] == b"RuntimeError: rule could not be applied"
    assert found["x-dlq-failure"] == b"handler"
    assert found["x-dlq-original-partition"] == b"2" and found["x-dlq-original-offset"] == b"41"
    assert found["x-dlq-attempts"] == b"3" and found["x-dlq-service"] == b"segmentation"


POISON = [
    PermanentError("bad"),
    json.JSONDecodeError("Expecting value", "not json", 0),
    _validation_error(),
    UnknownOrganisation("provider", "ZZZ99"),
]


@pytest.mark.parametrize(
    "error", POISON, ids=["permanent", "not-json", "breaks-contract", "unknown-provider"]
)
async def test_poison_is_parked_at_once(error: Exception) -> None:
    parked: Parked = []
    calls, handled = await _fail_with(_attempt(parked, attempts=5), error)
    assert calls == 1 and handled and len(parked) == 1
    assert dict(parked[0][3])["x-dlq-failure"] == b"poison"


def _db_error(sqlstate: str | None, message: str) -> DBAPIError:
    class Orig(Exception):
        pass

    orig = Orig(message)
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    return DBAPIError("INSERT ...", {}, orig)


TRANSIENT = [
    OperationalError("INSERT ...", {}, Exception("database or disk is full")),
    OperationalError("INSERT ...", {}, Exception("attempt to write a readonly database")),
    _db_error("25006", "cannot execute INSERT in a read-only transaction"),
    _db_error("53100", "could not extend file: No space left on device"),
    _db_error("57P01", "terminating connection due to administrator command"),
    _db_error("40P01", "deadlock detected"),
    ConnectionRefusedError("connection refused"),
    OSError(28, "No space left on device"),
    KafkaConnectionError("broker unavailable"),
    KafkaTimeoutError(),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__ + ":" + str(e)[:30])
async def test_a_transient_failure_holds_the_message_until_it_passes_and_parks_nothing(
    error: Exception,
) -> None:
    """More tries than max_attempts, none parked; the stall shows in metrics and clears."""
    parked: Parked = []
    attempt = _attempt(parked, attempts=2)
    calls = 0
    seen_stalled = []

    async def handler(_msg: Any) -> str:
        nonlocal calls
        calls += 1
        seen_stalled.append(dict(attempt.policy.stalled))
        if calls <= 5:
            raise error
        return "applied"

    assert await attempt.run(lambda: handler(None)) == "applied"
    assert calls == 6 and parked == []
    assert "oversight.trigger.raised.v1" in seen_stalled[-1]  # stalled while it waited
    assert attempt.policy.stalled == {}  # and recovered
    metrics = attempt.policy.metrics
    assert metrics.consumer_stalled.labels("oversight.trigger.raised.v1")._value.get() == 0
    assert (
        metrics.transient_failures.labels("oversight.trigger.raised.v1", type(error).__name__)._value.get()
        == 5
    )


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a coding bug"),
        KeyError("missing"),
        IntegrityError("INSERT", {}, Exception("duplicate key")),
    ],
    ids=["value-error", "key-error", "integrity"],
)
async def test_a_bug_or_a_constraint_is_the_handlers_error_not_poison(error: Exception) -> None:
    """Retried max_attempts times before parking: a coding bug does not skip its retries."""
    parked: Parked = []
    calls, handled = await _fail_with(_attempt(parked, attempts=4), error)
    assert calls == 4 and handled and dict(parked[0][3])["x-dlq-failure"] == b"handler"


async def test_a_value_too_large_to_park_is_cut_to_an_excerpt_with_its_headers() -> None:
    parked: Parked = []
    attempt = _attempt(parked)
    huge = _record(value=b"x" * (MAX_PARKED_VALUE_BYTES + 5000))
    attempt.record = huge
    assert await attempt.park(PermanentError("too big")) is True
    [(_topic, _key, value, headers)] = parked
    assert len(value) == MAX_PARKED_VALUE_BYTES
    assert (
        dict(headers)["x-dlq-truncated"]
        == f"{MAX_PARKED_VALUE_BYTES + 5000} bytes, first {MAX_PARKED_VALUE_BYTES} kept".encode()
    )
    assert dict(headers)["x-dlq-original-offset"] == b"41"


async def test_success_needs_no_parking() -> None:
    parked: Parked = []
    attempt = _attempt(parked)

    async def handler(_msg: Any) -> str:
        return "done"

    assert await attempt.run(lambda: handler(None)) == "done"
    assert parked == []


async def test_a_failed_dead_letter_publish_propagates_so_the_offset_is_not_committed() -> None:
    async def broken(*_: Any) -> None:
        raise ConnectionError("broker down")

    attempt = _attempt([])
    attempt.policy.publish = broken
    with pytest.raises(ConnectionError):
        await attempt.park(ValueError("bad"))
