"""Live alert streams are woken by the commit that stores an alert, never by polling: in the
process that stored it (SQLite), and in every replica on the same PostgreSQL database through
NOTIFY, sent at the commit and never on a rollback, with the listener recovering from a lost
connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import Request
from prometheus_client import CollectorRegistry
from sqlalchemy import event, text

from oversight_contracts import SupportPackageProposed, Theme
from oversight_notification.api import _alert_events
from oversight_notification.handlers import on_event
from oversight_notification.main import create_service
from oversight_runtime.access import ProviderScope
from oversight_runtime.changes import ChangeFeed, listen_for_changes
from oversight_runtime.database import Database
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_runtime.telemetry import ServiceMetrics
from tests.support.events import package_proposed

EVERY_PROVIDER = ProviderScope(True, frozenset())


class _Connected:
    """A client that stays: what the stream asks of the request."""

    async def is_disconnected(self) -> bool:
        return False


def _package(provider: str = "RJ1") -> SupportPackageProposed:
    return package_proposed(provider, Theme.QUALITY_OF_CARE, summary="change notification test")


async def _store_alert(service: OversightService) -> None:
    """What notification's consumer does with a proposed package: store an alert, and commit."""
    async with service.unit_of_work() as uow:
        await on_event(uow, _package())


@contextlib.asynccontextmanager
async def _service(url: str) -> AsyncIterator[OversightService]:
    service = create_service(
        ServiceSettings(service_name="notification", database_url=url, kafka_bootstrap_servers="127.0.0.1:1")
    )
    await service.database.migrate(service.migrations)
    try:
        yield service
    finally:
        await service.database.dispose()


async def test_an_idle_stream_reads_nothing_and_wakes_when_an_alert_commits(tmp_path: Path) -> None:
    async with _service(f"sqlite+aiosqlite:///{tmp_path / 'notification.db'}") as service:
        statements: list[str] = []
        event.listen(
            service.database.engine.sync_engine,
            "before_cursor_execute",
            lambda _conn, _cursor, sql, *_: statements.append(sql),
        )
        stream = _alert_events(service, EVERY_PROVIDER, cast(Request, _Connected()), 0, None)
        first = asyncio.create_task(anext(stream))
        await asyncio.sleep(0.3)
        read_at_start = len(statements)
        assert read_at_start > 0, "the stream reads what is there when it opens"

        await asyncio.sleep(1.5)
        assert len(statements) == read_at_start, "an idle stream must not touch the database"
        assert not first.done()

        await _store_alert(service)
        sent: dict[str, Any] = await asyncio.wait_for(first, 1)
        assert sent["event"] == "alert"
        await stream.aclose()
        assert service.changes.waiting("alerts") == 0


async def test_a_rolled_back_alert_wakes_no_one(tmp_path: Path) -> None:
    async with _service(f"sqlite+aiosqlite:///{tmp_path / 'notification.db'}") as service:
        seen = service.changes.version("alerts")
        with pytest.raises(RuntimeError):
            async with service.unit_of_work() as uow:
                await on_event(uow, _package())
                raise RuntimeError("the transaction fails after the alert was added")
        assert service.changes.version("alerts") == seen
        await _store_alert(service)
        assert service.changes.version("alerts") == seen + 1


# --- PostgreSQL: across replicas ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def _replica(url: str, feed: ChangeFeed, metrics: ServiceMetrics) -> AsyncIterator[Database]:
    """Another replica's side: its own engine and a listener relaying NOTIFY into its feed."""
    database = Database(url)
    listener = asyncio.create_task(
        listen_for_changes(
            database.engine, feed, on_lost=metrics.change_listener_lost.inc, backoff_seconds=0.05
        )
    )
    try:
        yield database
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await database.dispose()


async def _listening(feed: ChangeFeed, channel: str, since: int) -> None:
    """The listener wakes a channel once it listens to it (anything before may have been missed)."""
    if feed.version(channel) == since:
        assert await feed.wait(channel, since, timeout=10), "the listener never listened"


@pytest.mark.postgres
async def test_another_replica_wakes_at_the_commit_and_never_on_a_rollback(
    new_database: Callable[[str], str],
) -> None:
    url = new_database("changes")
    feed_b, metrics_b = ChangeFeed(), ServiceMetrics(CollectorRegistry())
    async with _service(url) as replica_a, _replica(url, feed_b, metrics_b):
        feed_b.watch("alerts")
        await _listening(feed_b, "alerts", 0)

        seen = feed_b.version("alerts")
        await _store_alert(replica_a)
        assert await feed_b.wait("alerts", seen, timeout=2), "replica B was not woken"

        seen = feed_b.version("alerts")
        with pytest.raises(RuntimeError):
            async with replica_a.unit_of_work() as uow:
                await on_event(uow, _package())
                raise RuntimeError("rolled back")
        assert not await feed_b.wait("alerts", seen, timeout=1), "a rollback must wake no one"
        assert metrics_b.registry.get_sample_value("oversight_change_listener_lost_total") == 0


@pytest.mark.postgres
async def test_the_listener_listens_again_after_its_connection_is_killed(
    new_database: Callable[[str], str],
) -> None:
    url = new_database("changes_lost")
    feed_b, metrics_b = ChangeFeed(), ServiceMetrics(CollectorRegistry())
    async with _service(url) as replica_a, _replica(url, feed_b, metrics_b):
        feed_b.watch("alerts")
        await _listening(feed_b, "alerts", 0)

        seen = feed_b.version("alerts")
        async with replica_a.database.engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert killed
        # Listening again, the listener wakes the channel's readers: they re-read what they missed.
        assert await feed_b.wait("alerts", seen, timeout=10)
        assert metrics_b.registry.get_sample_value("oversight_change_listener_lost_total") == 1

        seen = feed_b.version("alerts")
        await _store_alert(replica_a)
        assert await feed_b.wait("alerts", seen, timeout=2), "replica B was not woken after reconnecting"


@pytest.mark.postgres
async def test_a_replica_no_one_streams_from_holds_no_listening_connection(
    new_database: Callable[[str], str],
) -> None:
    feed, metrics = ChangeFeed(), ServiceMetrics(CollectorRegistry())
    async with _replica(new_database("changes_idle"), feed, metrics) as database:
        await asyncio.sleep(0.5)
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        feed.watch("alerts")  # a first stream opens
        await _listening(feed, "alerts", 0)
        assert database.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
