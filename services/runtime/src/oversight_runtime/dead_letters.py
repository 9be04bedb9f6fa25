"""What a consumer does with a message that fails: wait out the infrastructure, retry its own
errors a few times, park what can never succeed. Nothing is ever skipped.

Three kinds of failure, told apart by ``classify``:

- **poison**: the message can never be processed as it is (it does not decode, breaks its
  contract, or names an organisation the registry does not know). Parked at once.
- **transient**: the infrastructure is failing (database unreachable, read-only or full, a lock
  timeout, the broker unavailable). Retried with backoff for as long as it takes, holding the
  partition: the consumer is "stalled", which metrics and ``/readyz`` show.
- **handler**: anything else the handler raised for this message (a rule it cannot apply, a
  bug). Retried ``max_attempts`` times with backoff, then parked.

Parking copies the original key, value and headers to ``<topic>.dlq`` with the error in
``x-dlq-*`` headers; a value too large for the broker is cut to an excerpt (``x-dlq-truncated``)
so that a copy can always be parked. If the dead-letter publish itself fails, the error
propagates, the subscriber's ``NACK_ON_ERROR`` policy seeks back, and the message is delivered
again: parking never loses a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError, KafkaTimeoutError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from oversight_contracts import DEAD_LETTER_SUFFIX
from oversight_runtime.errors import Rejected
from oversight_runtime.reference import UnknownOrganisation
from oversight_runtime.telemetry import ServiceMetrics

log = logging.getLogger(__name__)

#: Publishes (topic, key, value, headers) to Kafka and waits for the broker's acknowledgement.
RawPublish = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]]], Awaitable[None]]
Failure = Literal["poison", "transient", "handler"]
T = TypeVar("T")

#: The most of a value a dead-letter copy carries: the broker's default message limit is 1 MiB,
#: and the copy's headers (the error, the original's place) need room beside it.
MAX_PARKED_VALUE_BYTES = 900_000
#: SQLSTATE classes and codes of database failures that pass: connection (08), insufficient
#: resources such as a full disk (53), operator intervention such as a shutdown (57P), system and
#: I/O errors (58), serialization failures and deadlocks (40001, 40P01), a lock not available
#: (55P03), and a read-only transaction (25006: a failover, or the database set read-only).
TRANSIENT_SQLSTATES = ("08", "53", "57P", "58", "40001", "40P01", "55P03", "25006")


class PermanentError(Exception):
    """The message can never be processed as it is (e.g. an unknown provider): park it."""


def classify(error: BaseException) -> Failure:
    """Poison, transient or the handler's own: see the module docstring."""
    if isinstance(error, PermanentError | Rejected | ValidationError | UnknownOrganisation):
        return "poison"
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
        return "poison"
    if _transient(error):
        return "transient"
    return "handler"


def _transient(error: BaseException) -> bool:
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True  # SQLite: locked, read-only, disk full or I/O error; PostgreSQL: connection
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        return error.connection_invalidated or sqlstate.startswith(TRANSIENT_SQLSTATES)
    if isinstance(error, KafkaTimeoutError):
        return True
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False))
    return isinstance(error, OSError | TimeoutError)  # ConnectionError is an OSError


@dataclass
class DeadLetterPolicy:
    service: str
    max_attempts: int
    backoff_seconds: float
    metrics: ServiceMetrics
    publish: RawPublish | None = None  # set once the broker exists
    #: Longest wait between two tries of a stalled consumer.
    max_backoff_seconds: float = 5.0
    #: Topics whose consumer is waiting out a transient failure: since when, and why.
    stalled: dict[str, tuple[float, str]] = field(default_factory=dict)

    def attempt(self, record: ConsumerRecord[Any, Any]) -> DeliveryAttempt:
        """The tries at one record under this policy (the consumer's path for one event)."""
        return DeliveryAttempt(record, self)

    def stall(self, topic: str, error: BaseException) -> None:
        if topic not in self.stalled:
            log.warning("consumer of %s stalled, retrying until it passes: %s", topic, error)
        since = self.stalled.get(topic, (time.monotonic(), ""))[0]
        self.stalled[topic] = (since, f"{type(error).__name__}: {error}"[:300])
        self.metrics.consumer_stalled.labels(topic).set(1)
        self.metrics.transient_failures.labels(topic, type(error).__name__).inc()

    def recover(self, topic: str) -> None:
        if self.stalled.pop(topic, None) is not None:
            log.info("consumer of %s recovered", topic)
            self.metrics.consumer_stalled.labels(topic).set(0)


class DeliveryAttempt:
    """One record's tries: ``run`` retries it as its failure's kind says, ``park`` copies it to
    its dead-letter topic when the tries are over."""

    def __init__(self, record: ConsumerRecord[Any, Any], policy: DeadLetterPolicy) -> None:
        self.record = record
        self.policy = policy
        self.attempts = 0

    @property
    def topic(self) -> str:
        return str(self.record.topic)

    async def run(self, apply: Callable[[], Awaitable[T]]) -> T:
        """``apply`` until it succeeds; a poison error, or a handler error after the policy's
        attempts, is raised for ``park``. A transient error is waited out, however long."""
        handler_failures = 0
        transient_wait = min(max(self.policy.backoff_seconds, 0.05), self.policy.max_backoff_seconds)
        while True:
            self.attempts += 1
            try:
                result = await apply()
            except Exception as error:
                kind = classify(error)
                if kind == "poison":
                    raise
                if kind == "transient":
                    self.policy.stall(self.topic, error)
                    await asyncio.sleep(transient_wait)
                    transient_wait = min(transient_wait * 2, self.policy.max_backoff_seconds)
                    continue
                handler_failures += 1
                if handler_failures >= self.policy.max_attempts:
                    raise
                await asyncio.sleep(min(self.policy.backoff_seconds * 2 ** (handler_failures - 1), 5))
                continue
            self.policy.recover(self.topic)
            return result

    async def park(self, error: Exception) -> bool:
        """Copy the record to its dead-letter topic with ``error``; False when there is nowhere
        to park it (no publisher yet). A failed copy raises: the record is not acknowledged."""
        record = self.record
        if self.policy.publish is None:
            return False
        try:
            await self._park(record, error)
        except Exception:
            # Not parked, so not acknowledged: the message is delivered again. Wait a moment first,
            # so a dead-letter topic that refuses copies is not hammered.
            log.exception(
                "could not park a message from %s[%s]@%s; it will be delivered again",
                record.topic,
                record.partition,
                record.offset,
            )
            await asyncio.sleep(self.policy.max_backoff_seconds)
            raise
        return True  # parked: the consumer acknowledges it

    async def _park(self, record: ConsumerRecord[Any, Any], error: Exception) -> None:
        topic = record.topic + DEAD_LETTER_SUFFIX
        details = "".join(traceback.format_exception_only(error)).strip()
        headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("x-dlq-")]
        headers += [
            ("x-dlq-error", details[:4000].encode("utf-8", "backslashreplace")),
            ("x-dlq-error-type", type(error).__name__.encode()),
            ("x-dlq-failure", classify(error).encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
            ("x-dlq-attempts", str(max(self.attempts, 1)).encode()),
            ("x-dlq-service", self.policy.service.encode()),
        ]
        value = record.value or b""
        if len(value) > MAX_PARKED_VALUE_BYTES:
            headers.append(
                ("x-dlq-truncated", f"{len(value)} bytes, first {MAX_PARKED_VALUE_BYTES} kept".encode())
            )
            value = value[:MAX_PARKED_VALUE_BYTES]
        assert self.policy.publish is not None
        await self.policy.publish(topic, record.key, value, headers)
        self.policy.metrics.dead_lettered.labels(record.topic).inc()
        log.error(
            "parked message from %s[%s]@%s on %s after %s attempt(s): %s",
            record.topic,
            record.partition,
            record.offset,
            topic,
            max(self.attempts, 1),
            details[:500],
        )
