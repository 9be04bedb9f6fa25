"""Change notifications: whoever waits for a kind of change wakes once a change has committed.

A reader (a live stream) reads what is there, then waits on a named channel before reading again.
A writer says what changed with ``UnitOfWork.changed(channel)``; once its transaction commits,
every waiter on that channel in this process wakes, and on PostgreSQL every other replica's too:
the unit of work sends ``NOTIFY oversight_<channel>`` inside its transaction (delivered when it
commits, never on a rollback), and each replica's ``listen_for_changes`` relays it into the
replica's own feed. On SQLite only the in-process path exists (one process owns the file).

Nothing is lost between a reader's read and its wait: the reader takes the channel's ``version``
*before* reading and hands it to ``wait``, which returns at once if anything changed since.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

#: Channel names become PostgreSQL channel names (``oversight_<name>``): short, lower-case words.
CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
PG_PREFIX = "oversight_"
#: The feed's own channel, changed when a channel is first waited on (for the listener).
_WATCHED = "*watched"


def check_channel(channel: str) -> str:
    if not CHANNEL_NAME.fullmatch(channel):
        raise ValueError(f"a change channel is a lower-case word such as 'alerts', not {channel!r}")
    return channel


def pg_channel(channel: str) -> str:
    """The PostgreSQL channel a change of ``channel`` is announced on."""
    return PG_PREFIX + check_channel(channel)


class ChangeFeed:
    """Named channels, each with a version that every ``notify`` increments.

    Pure asyncio, for one event loop: ``notify`` and ``wait`` are called from the loop's thread.
    """

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        #: Channels someone has waited on, in the order first asked (what a listener listens to).
        self._watched: dict[str, None] = {}

    def version(self, channel: str) -> int:
        """How many changes of ``channel`` this feed has heard of; take it before reading."""
        return self._versions.get(channel, 0)

    @property
    def watched(self) -> tuple[str, ...]:
        return tuple(self._watched)

    def watch(self, channel: str) -> None:
        """Say that changes of ``channel`` matter here (``wait`` does so itself)."""
        if channel not in self._watched:
            self._watched[check_channel(channel)] = None
            self.notify(_WATCHED)

    def notify(self, channel: str) -> None:
        """A change of ``channel`` has committed: wake everyone waiting on it."""
        self._versions[channel] = self.version(channel) + 1
        for waiter in self._waiters.pop(channel, ()):
            if not waiter.done():
                waiter.set_result(None)

    def notify_watched(self) -> None:
        """Wake every watched channel, e.g. when changes may have been missed."""
        for channel in self.watched:
            self.notify(channel)

    async def wait(self, channel: str, seen: int, timeout: float | None = None) -> bool:
        """Wait until ``channel`` is past version ``seen`` (at once if it already is), or for
        ``timeout`` seconds; True when it changed. Cancelling the wait leaves nothing behind."""
        if channel != _WATCHED:
            self.watch(channel)
        if self.version(channel) != seen:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(channel, set())
        waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:
            waiters.discard(waiter)
            if not waiters and self._waiters.get(channel) is waiters:
                del self._waiters[channel]
        return True

    def waiting(self, channel: str) -> int:
        """How many are waiting on ``channel`` now (for tests and metrics)."""
        return len(self._waiters.get(channel, ()))


#: A lost listening connection is replaced after this long, doubling up to the maximum.
LISTEN_BACKOFF_SECONDS = 0.5
LISTEN_MAX_BACKOFF_SECONDS = 30.0
#: An idle listening connection is checked this often, so a dead one (no FIN ever came) is found.
LISTEN_KEEPALIVE_SECONDS = 10.0


class ListenerLost(ConnectionError):
    """The connection that listened for notifications closed."""


async def listen_for_changes(
    engine: AsyncEngine,
    feed: ChangeFeed,
    *,
    on_lost: Callable[[], None] = lambda: None,
    keepalive_seconds: float = LISTEN_KEEPALIVE_SECONDS,
    backoff_seconds: float = LISTEN_BACKOFF_SECONDS,
    max_backoff_seconds: float = LISTEN_MAX_BACKOFF_SECONDS,
) -> None:
    """Relay PostgreSQL notifications of every watched channel into ``feed``, for ever.

    One connection from ``engine``'s pool is held for ``LISTEN`` from the first time a channel is
    watched (never returned to the pool: it is invalidated when done). When it is lost it is
    logged, ``on_lost`` is called (a metric) and a new one is made after a backoff. Each time a channel starts being listened to, on a new
    connection or when first watched, its waiters are woken: a change may have committed while
    nothing listened, and the readers re-read rather than miss it.
    """
    backoff = backoff_seconds

    def connected() -> None:
        nonlocal backoff
        backoff = backoff_seconds

    while not feed.watched:  # a service nobody waits on for changes holds no connection
        await feed.wait(_WATCHED, feed.version(_WATCHED))
    while True:
        try:
            await _listen(engine, feed, keepalive_seconds, connected)
        except Exception as error:
            on_lost()
            log.warning(
                "change listener lost its database connection (%s: %s); listening again in %.1fs",
                type(error).__name__,
                error,
                backoff,
            )
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff_seconds)


async def _listen(
    engine: AsyncEngine, feed: ChangeFeed, keepalive_seconds: float, connected: Callable[[], None]
) -> None:
    connection = await engine.connect()
    try:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection  # an asyncpg Connection
        lost = False

        def closed(_connection: object) -> None:
            nonlocal lost
            lost = True
            feed.notify(_WATCHED)  # wakes the loop below

        def deliver(_connection: object, _pid: int, channel: str, _payload: str) -> None:
            feed.notify(channel.removeprefix(PG_PREFIX))

        driver.add_termination_listener(closed)
        listening: set[str] = set()
        while True:
            seen = feed.version(_WATCHED)
            added = [c for c in feed.watched if c not in listening]
            for channel in added:
                await driver.add_listener(pg_channel(channel), deliver)
                listening.add(channel)
            if added:
                connected()
                log.info("listening for changes of %s", ", ".join(added))
                for channel in added:  # whatever committed before now: read it again
                    feed.notify(channel)
            if not await feed.wait(_WATCHED, seen, keepalive_seconds):
                await asyncio.wait_for(driver.fetchval("SELECT 1"), keepalive_seconds)
            if lost or driver.is_closed():
                raise ListenerLost("the listening connection closed")
    finally:
        # Never back into the pool: it listens, and may be broken.
        with contextlib.suppress(Exception):
            await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()
