"""Bounded retries, then a dead-letter topic: one bad message never stops a partition.

A message that cannot be decoded or validated is parked at once (retrying cannot fix it); any
other failure is retried with backoff up to the configured number of attempts. The original key,
value and headers go to ``<topic>.dlq`` with the error in ``x-dlq-*`` headers, and the consumer
carries on with the next message. If the dead-letter publish itself fails, the error propagates,
the offset is not committed and the message is delivered again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from oversight_contracts import DEAD_LETTER_SUFFIX
from oversight_runtime.errors import Rejected
from oversight_runtime.telemetry import ServiceMetrics

log = logging.getLogger(__name__)

#: Publishes (topic, key, value, headers) to Kafka and waits for the broker's acknowledgement.
RawPublish = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]]], Awaitable[None]]


class PermanentError(Exception):
    """The message can never be processed as it is (e.g. an unknown provider): park it."""


def is_permanent(error: BaseException) -> bool:
    # ValueError covers bad JSON and pydantic validation; LookupError covers unknown providers.
    return isinstance(error, PermanentError | Rejected | ValidationError | ValueError | LookupError)


@dataclass
class DeadLetterPolicy:
    service: str
    max_attempts: int
    backoff_seconds: float
    metrics: ServiceMetrics
    publish: RawPublish | None = None  # set once the broker exists

    def middleware(self, msg: Any, /, *, context: Any) -> DeadLetterMiddleware:
        """FastStream middleware factory bound to this policy."""
        return DeadLetterMiddleware(msg, context=context, policy=self)


class DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy
        self.attempts = 0

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=wait_exponential(multiplier=self.policy.backoff_seconds, max=5),
            retry=retry_if_exception(lambda e: not is_permanent(e)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                self.attempts += 1
                return await call_next(msg)
        return None  # unreachable: tenacity re-raises after the last attempt

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is None or not isinstance(exc_val, Exception):
            return False
        if isinstance(exc_val, HandlerException):
            return False
        record = self.msg
        if not isinstance(record, ConsumerRecord) or self.policy.publish is None:
            return False
        await self._park(record, exc_val)
        return True  # handled: the acknowledgement middleware commits the offset

    async def _park(self, record: ConsumerRecord[Any, Any], error: Exception) -> None:
        topic = record.topic + DEAD_LETTER_SUFFIX
        details = "".join(traceback.format_exception_only(error)).strip()
        headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("x-dlq-")]
        headers += [
            ("x-dlq-error", details[:4000].encode()),
            ("x-dlq-error-type", type(error).__name__.encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
            ("x-dlq-attempts", str(max(self.attempts, 1)).encode()),
            ("x-dlq-service", self.policy.service.encode()),
        ]
        assert self.policy.publish is not None
        await self.policy.publish(topic, record.key, record.value or b"", headers)
        self.policy.metrics.dead_lettered.labels(record.topic).inc()
        log.error(
            "parked message from %s[%s]@%s on %s after %s attempt(s): %s",
            record.topic,
            record.partition,
            record.offset,
            topic,
            max(self.attempts, 1),
            details,
        )
