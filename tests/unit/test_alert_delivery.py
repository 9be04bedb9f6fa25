"""Delivery retries, without a network: a scripted channel and a sleep that only records."""

from __future__ import annotations

import asyncio
import random

import pytest

from oversight_notification.channels import Delivery, DeliveryFailed
from oversight_notification.delivery import backoff_ceiling, backoff_delay, deliver

DELIVERY = Delivery("alert-1.ics-QWO.webhook", "https://example.invalid/hook", "Subject", "Body", {"a": 1})


class ScriptedChannel:
    """Fails with each scripted error in turn, then succeeds; counts the attempts it saw."""

    name = "scripted"

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.sent: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery.delivery_id)
        if self.errors:
            raise self.errors.pop(0)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def retryable(n: int) -> list[DeliveryFailed]:
    return [DeliveryFailed(True, f"503 #{i + 1}") for i in range(n)]


@pytest.mark.parametrize(
    ("failures", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (9, 5.0), (10_000, 5.0)]
)
def test_the_backoff_window_doubles_from_the_base_and_stops_at_the_cap(failures: int, ceiling: float) -> None:
    assert backoff_ceiling(failures, base_delay=0.5, max_delay=5.0) == ceiling


def test_backoff_is_jittered_within_the_window_and_repeatable_with_a_seed() -> None:
    def schedule(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [backoff_delay(n, base_delay=0.5, max_delay=5.0, rng=rng) for n in range(1, 50)]

    first = schedule(7)
    assert first == schedule(7)
    assert first != schedule(8)
    for n, delay in enumerate(first, start=1):
        assert 0.0 <= delay <= backoff_ceiling(n, base_delay=0.5, max_delay=5.0)
    assert len(set(first)) == len(first)  # jittered, not a fixed ladder
    with pytest.raises(ValueError):
        backoff_ceiling(0, base_delay=0.5, max_delay=5.0)


async def test_a_receiver_failing_twice_is_delivered_on_the_third_attempt_after_two_waits() -> None:
    channel, sleeps = ScriptedChannel(*retryable(2)), Sleeps()
    outcome = await deliver(
        channel, DELIVERY, attempts=5, base_delay=1.0, max_delay=60.0, sleep=sleeps, rng=random.Random(1)
    )
    assert (outcome.status, outcome.attempts, outcome.error) == ("delivered", 3, None)
    assert (outcome.channel, outcome.delivery_id) == ("scripted", DELIVERY.delivery_id)
    assert channel.sent == [DELIVERY.delivery_id] * 3  # the same id every time: receivers de-dup
    rng = random.Random(1)
    assert sleeps.delays == [backoff_delay(n, base_delay=1.0, max_delay=60.0, rng=rng) for n in (1, 2)]


async def test_retries_stop_at_the_limit_and_the_last_error_is_kept() -> None:
    channel, sleeps = ScriptedChannel(*retryable(10)), Sleeps()
    outcome = await deliver(channel, DELIVERY, attempts=4, base_delay=0.1, max_delay=1.0, sleep=sleeps)
    assert (outcome.status, outcome.attempts, outcome.error) == ("failed", 4, "503 #4")
    assert len(channel.sent) == 4
    assert len(sleeps.delays) == 3  # no wait after the last attempt
    assert all(0.0 <= d <= 1.0 for d in sleeps.delays)


async def test_a_permanent_failure_is_not_retried() -> None:
    channel, sleeps = ScriptedChannel(DeliveryFailed(False, "receiver answered 400")), Sleeps()
    outcome = await deliver(channel, DELIVERY, attempts=5, base_delay=1.0, max_delay=60.0, sleep=sleeps)
    assert (outcome.status, outcome.attempts, outcome.error) == ("failed", 1, "receiver answered 400")
    assert sleeps.delays == []


async def test_a_permanent_failure_after_retryable_ones_ends_the_retries() -> None:
    channel = ScriptedChannel(*retryable(2), DeliveryFailed(False, "410 gone"))
    outcome = await deliver(channel, DELIVERY, attempts=9, base_delay=0.0, max_delay=0.0, sleep=Sleeps())
    assert (outcome.status, outcome.attempts, outcome.error) == ("failed", 3, "410 gone")


async def test_one_attempt_means_no_retry() -> None:
    outcome = await deliver(
        ScriptedChannel(*retryable(1)), DELIVERY, attempts=1, base_delay=1.0, max_delay=1.0, sleep=Sleeps()
    )
    assert (outcome.status, outcome.attempts) == ("failed", 1)


async def test_a_broken_channel_is_recorded_as_failed_not_raised_and_not_retried() -> None:
    channel = ScriptedChannel(RuntimeError("bug in the channel"))
    outcome = await deliver(channel, DELIVERY, attempts=5, base_delay=0.0, max_delay=0.0, sleep=Sleeps())
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error == "RuntimeError: bug in the channel"


async def test_cancellation_is_not_swallowed() -> None:
    with pytest.raises(asyncio.CancelledError):
        await deliver(
            ScriptedChannel(asyncio.CancelledError()),
            DELIVERY,
            attempts=5,
            base_delay=0.0,
            max_delay=0.0,
            sleep=Sleeps(),
        )


def test_a_delivery_id_must_be_safe_in_a_header_and_a_message_id() -> None:
    for bad in ("", "a b", "a\r\nBcc: x", "a..b", ".a", "a@b", "x" * 201):
        with pytest.raises(ValueError):
            Delivery(bad, "to@example.invalid", "s", "t", {})


def test_the_signing_secret_stays_out_of_repr() -> None:
    delivery = Delivery("d-1", "https://example.invalid", "s", "t", {}, signing_secret="whsec_c2VjcmV0")
    assert "whsec_" not in repr(delivery)
