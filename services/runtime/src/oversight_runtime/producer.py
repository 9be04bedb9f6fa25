"""The Kafka producer the outbox relay and the dead-letter policy publish with.

An idempotent aiokafka producer keeps a producer id and a sequence number per partition. After a
long broker outage that state can go stale on the broker's side, and every send then fails with
``OutOfOrderSequenceNumber`` (or an unknown or fenced producer id) forever, the same producer
never recovering (aio-libs/aiokafka#1017). ``RecoveringProducer`` closes such a producer and
starts a new one, with a new producer id; the caller sends again from the first unpublished row,
and consumers de-duplicate by event id, so the restart doubles nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)

log = logging.getLogger(__name__)

#: Errors after which this producer can never send again: it must be replaced.
FATAL_PRODUCER_ERRORS = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    ProducerFenced,
    InvalidProducerIdMapping,
)
#: The largest message a producer sends (aiokafka's ``max_request_size`` default, and about the
#: broker's default ``message.max.bytes``).
MAX_MESSAGE_BYTES = 1_048_576

Headers = list[tuple[str, bytes]]


class Message(NamedTuple):
    topic: str
    value: bytes
    key: bytes | None
    headers: Headers


class MessageTooLarge(KafkaError):  # type: ignore[misc]
    """The encoded message is over the size the broker takes: it can never be published."""


class RecoveringProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        request_timeout_ms: int = 30_000,
        on_restart: Callable[[], None] = lambda: None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.on_restart = on_restart
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        #: How many times a fatal error made this producer start afresh.
        self.restarts = 0

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id=self.client_id,
            enable_idempotence=True,
            max_request_size=MAX_MESSAGE_BYTES,
            request_timeout_ms=self.request_timeout_ms,
        )

    async def start(self) -> None:
        await self._ready()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        """Send one message and wait for the broker's acknowledgement.

        Raises ``MessageTooLarge`` without sending when the message could never be accepted, and
        replaces the producer before re-raising a fatal producer error.
        """
        [failure] = await self.send_all([Message(topic, value, key, headers)])
        if failure is not None:
            raise failure

    async def send_all(self, messages: Sequence[Message]) -> list[Exception | None]:
        """Send messages together and wait for every acknowledgement: one result per message, in
        order, None when the broker has it.

        All are handed to the client before any is awaited, so they travel in a few requests
        rather than one round trip each; the idempotent producer keeps each partition's order.
        A fatal producer error replaces the producer once the batch has settled.
        """
        try:
            producer = await self._ready()
        except Exception as error:  # the broker is unreachable: every message failed to go
            return [error for _ in messages]
        pending: list[asyncio.Future[object] | Exception] = []
        for message in messages:
            try:
                _check_size(message)
                pending.append(
                    await producer.send(
                        message.topic, value=message.value, key=message.key, headers=message.headers
                    )
                )
            except Exception as error:
                pending.append(error)
        results: list[Exception | None] = []
        for item in pending:
            if isinstance(item, Exception):
                results.append(item)
                continue
            try:
                await item
                results.append(None)
            except Exception as error:
                results.append(error)
        fatal = next((r for r in results if isinstance(r, FATAL_PRODUCER_ERRORS)), None)
        if fatal is not None:
            await self._replace(producer, fatal)
        return results

    async def _ready(self) -> AIOKafkaProducer:
        """The current producer, starting a new one if the last was dropped."""
        async with self._lock:
            if self._producer is None:
                fresh = self._new()
                await fresh.start()  # fails while the broker is down: the caller tries again later
                self._producer = fresh
            producer: AIOKafkaProducer = self._producer
            return producer

    async def _replace(self, broken: AIOKafkaProducer, error: BaseException) -> None:
        """Drop a producer that can never send again; the next send starts a new one."""
        to_close: AIOKafkaProducer = broken
        async with self._lock:
            if self._producer is not broken:
                return  # another send already dropped it
            log.warning("producer %s hit %s: starting a new producer", self.client_id, type(error).__name__)
            self._producer = None
            self.restarts += 1
            self.on_restart()
        try:
            await to_close.stop()
        except Exception:  # a broken producer may fail to close; it is dropped either way
            log.exception("closing the broken producer failed")


def _check_size(message: Message) -> None:
    """Refuse, without sending, a message the broker could never accept."""
    size = len(message.value) + len(message.key or b"") + sum(len(k) + len(v) for k, v in message.headers)
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"{size} bytes is over the {MAX_MESSAGE_BYTES}-byte message limit")
