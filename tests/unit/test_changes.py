"""The change feed: a wake is never lost between a reader's read and its wait."""

from __future__ import annotations

import asyncio

import pytest

from oversight_runtime.changes import ChangeFeed, check_channel, pg_channel


async def test_a_waiter_wakes_when_its_channel_is_notified() -> None:
    feed = ChangeFeed()
    seen = feed.version("alerts")
    waiting = asyncio.create_task(feed.wait("alerts", seen, timeout=5))
    await asyncio.sleep(0.01)
    assert not waiting.done() and feed.waiting("alerts") == 1
    feed.notify("alerts")
    assert await asyncio.wait_for(waiting, 1) is True
    assert feed.version("alerts") == seen + 1
    assert feed.waiting("alerts") == 0


async def test_a_change_between_the_read_and_the_wait_is_not_missed() -> None:
    """The reader takes the version, reads, and a change commits before it waits: the wait
    returns at once rather than sleeping through it."""
    feed = ChangeFeed()
    seen = feed.version("alerts")
    feed.notify("alerts")  # committed while the reader was reading
    assert await asyncio.wait_for(feed.wait("alerts", seen, timeout=60), 0.1) is True


async def test_every_waiter_wakes_and_other_channels_do_not() -> None:
    feed = ChangeFeed()
    alerts = [asyncio.create_task(feed.wait("alerts", 0, timeout=5)) for _ in range(3)]
    packages = asyncio.create_task(feed.wait("packages", 0, timeout=5))
    await asyncio.sleep(0.01)
    feed.notify("alerts")
    assert await asyncio.wait_for(asyncio.gather(*alerts), 1) == [True, True, True]
    await asyncio.sleep(0.01)
    assert not packages.done()
    packages.cancel()


async def test_a_wait_times_out_with_no_change() -> None:
    feed = ChangeFeed()
    assert await feed.wait("alerts", feed.version("alerts"), timeout=0.05) is False
    assert feed.waiting("alerts") == 0


async def test_a_cancelled_wait_leaves_nothing_behind() -> None:
    """A stream whose client went is cancelled where it waits: no waiter is kept for ever."""
    feed = ChangeFeed()
    waiting = asyncio.create_task(feed.wait("alerts", 0, timeout=None))
    await asyncio.sleep(0.01)
    assert feed.waiting("alerts") == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert feed.waiting("alerts") == 0
    feed.notify("alerts")  # nobody left to wake; nothing breaks


async def test_waiting_on_a_channel_watches_it_once() -> None:
    """What a listener listens for: every channel waited on, each once, in order."""
    feed = ChangeFeed()
    await feed.wait("alerts", 0, timeout=0)
    await feed.wait("packages", 0, timeout=0)
    await feed.wait("alerts", 0, timeout=0)
    assert feed.watched == ("alerts", "packages")


async def test_notify_watched_wakes_every_watched_channel() -> None:
    feed = ChangeFeed()
    feed.watch("alerts")
    feed.watch("packages")
    waits = [asyncio.create_task(feed.wait(c, feed.version(c), timeout=5)) for c in feed.watched]
    await asyncio.sleep(0.01)
    feed.notify_watched()
    assert await asyncio.wait_for(asyncio.gather(*waits), 1) == [True, True]


@pytest.mark.parametrize("name", ["", "Alerts", "alerts; DROP TABLE alert", "a" * 41, "1alerts", "*watched"])
def test_channel_names_are_plain_words(name: str) -> None:
    with pytest.raises(ValueError):
        check_channel(name)


def test_a_channel_is_announced_on_its_own_postgresql_channel() -> None:
    assert pg_channel("alerts") == "oversight_alerts"
