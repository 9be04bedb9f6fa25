"""Deliver one notification on one channel: retry what may pass later, then record the outcome.

Retries use tenacity's ``AsyncRetrying`` (stop after N attempts, retry only a retryable
``DeliveryFailed``, an injectable ``sleep``) with our own wait: tenacity's
``wait_random_exponential`` draws from the global ``random``, and the schedule here must be a pure
function of a given ``random.Random`` so tests can pin it. ``deliver`` never raises for a
channel's failure: a receiver that is down must not hold up the other receivers or the consumer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from oversight_notification.channels import Channel, Delivery, DeliveryFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of a delivery: kept and shown, so a failed one is visible, not lost."""

    channel: str
    delivery_id: str
    status: Literal["delivered", "failed"]
    attempts: int
    error: str | None = None


def backoff_ceiling(failures: int, *, base_delay: float, max_delay: float) -> float:
    """The widest wait after ``failures`` failed attempts: ``base_delay`` doubled each time, capped."""
    if failures < 1:
        raise ValueError("a wait follows at least one failed attempt")
    return min(max_delay, base_delay * 2.0 ** min(failures - 1, 64))  # 2**64: already past any cap


def backoff_delay(failures: int, *, base_delay: float, max_delay: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, ceiling], so receivers that failed together do not retry together."""
    return rng.uniform(0.0, backoff_ceiling(failures, base_delay=base_delay, max_delay=max_delay))


def _retryable(error: BaseException) -> bool:
    return isinstance(error, DeliveryFailed) and error.retryable


async def deliver(
    channel: Channel,
    delivery: Delivery,
    *,
    attempts: int,
    base_delay: float,
    max_delay: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> DeliveryOutcome:
    """Try up to ``attempts`` times, waiting a jittered, doubling delay after each retryable failure.

    A permanent failure (a 4xx, a refused address) ends at once. An unexpected exception from a
    channel is a bug in it, not the receiver's fault: it is logged and the delivery marked failed
    without retrying. Cancellation still propagates.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    jitter = rng or random.Random()
    made = 0

    def wait(state: RetryCallState) -> float:
        return backoff_delay(state.attempt_number, base_delay=base_delay, max_delay=max_delay, rng=jitter)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait,
        retry=retry_if_exception(_retryable),
        sleep=sleep,
        reraise=True,
    )

    def outcome(status: Literal["delivered", "failed"], error: str | None = None) -> DeliveryOutcome:
        return DeliveryOutcome(channel.name, delivery.delivery_id, status, made, error)

    try:
        async for attempt in retrying:
            with attempt:
                made += 1
                await channel.send(delivery)
    except DeliveryFailed as failure:
        log.warning(
            "%s delivery %s failed after %d attempt(s): %s",
            channel.name,
            delivery.delivery_id,
            made,
            failure.detail,
        )
        return outcome("failed", failure.detail)
    except Exception as error:
        log.exception("%s delivery %s: the channel broke", channel.name, delivery.delivery_id)
        return outcome("failed", f"{type(error).__name__}: {error}")
    return outcome("delivered")
