"""Old published outbox rows, inbox rows and idempotency keys are purged, in chunks; recent rows,
and outbox rows still to publish or parked, are kept however old (a real PostgreSQL and a SQLite
file alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import SQLModel, select

import oversight_notification
from oversight_runtime.database import Database
from oversight_runtime.retention import purge_expired
from oversight_runtime.storage import IdempotencyRecord, OutboxMessage, ProcessedEvent, utcnow
from oversight_runtime.telemetry import ServiceMetrics

MIGRATIONS = Path(oversight_notification.__file__).parent / "migrations"
RETENTION = timedelta(days=30)
NOW = utcnow()
OLD = NOW - timedelta(days=31)
ANCIENT = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=29)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'retention.db'}"
    else:
        new_database: Callable[[str], str] = request.getfixturevalue("new_database")
        url = new_database("retention")
    database = Database(url)
    await database.migrate(MIGRATIONS)
    try:
        yield database
    finally:
        await database.dispose()


def _outbox(note: str, *, published: datetime | None, parked: datetime | None = None) -> OutboxMessage:
    return OutboxMessage(
        event_id=uuid4(),
        event_type="test.event",
        topic="test.event.v1",
        key="RJ1",
        correlation_id=uuid4(),
        payload=note,
        created_at=published or parked or ANCIENT,
        published_at=published,
        parked_at=parked,
    )


def _inbox(note: str, at: datetime) -> ProcessedEvent:
    return ProcessedEvent(event_id=uuid4(), handler=f"test.{note}", event_type="test.event", processed_at=at)


def _key(note: str, at: datetime) -> IdempotencyRecord:
    return IdempotencyRecord(
        principal="user-1",
        key=note,
        endpoint="POST /v1/things",
        request_hash="h",
        status_code=201,
        response_body={},
        created_at=at,
    )


async def _add(database: Database, rows: list[SQLModel]) -> None:
    async with database.transaction() as session:
        session.add_all(rows)


async def _notes(database: Database) -> dict[str, set[str]]:
    async with database.transaction() as session:
        outbox = (await session.exec(select(OutboxMessage.payload))).all()
        inbox = (await session.exec(select(ProcessedEvent.handler))).all()
        keys = (await session.exec(select(IdempotencyRecord.key))).all()
    return {
        "outbox_message": set(outbox),
        "processed_event": {h.removeprefix("test.") for h in inbox},
        "idempotency_record": set(keys),
    }


def _purged(metrics: ServiceMetrics, table: str) -> float:
    value: Any = metrics.registry.get_sample_value("oversight_rows_purged_total", {"table": table})
    return float(value or 0)


async def test_rows_older_than_the_window_go_and_the_rest_stay(database: Database) -> None:
    await _add(
        database,
        [
            _outbox("old published", published=OLD),
            _outbox("recent published", published=RECENT),
            _outbox("ancient unpublished", published=None),
            _outbox("ancient parked", published=None, parked=ANCIENT),
            _inbox("old", OLD),
            _inbox("recent", RECENT),
            _key("old", ANCIENT),
            _key("recent", RECENT),
        ],
    )
    metrics = ServiceMetrics(CollectorRegistry())

    purged = await purge_expired(database, RETENTION, metrics=metrics, now=NOW)

    assert purged == {"outbox_message": 1, "processed_event": 1, "idempotency_record": 1}
    assert await _notes(database) == {
        "outbox_message": {"recent published", "ancient unpublished", "ancient parked"},
        "processed_event": {"recent"},
        "idempotency_record": {"recent"},
    }
    assert {t: _purged(metrics, t) for t in purged} == purged
    assert await purge_expired(database, RETENTION, metrics=metrics, now=NOW) == dict.fromkeys(purged, 0)


async def test_more_old_rows_than_one_chunk_are_all_purged(database: Database) -> None:
    old = 23  # three chunks of ten, the last one short
    await _add(
        database,
        [
            *(_outbox(f"old {n}", published=OLD - timedelta(minutes=n)) for n in range(old)),
            *(_inbox(f"old {n}", OLD - timedelta(minutes=n)) for n in range(old)),
            *(_key(f"old {n}", OLD - timedelta(minutes=n)) for n in range(old)),
            _outbox("recent", published=RECENT),
            _outbox("unpublished", published=None),
            _inbox("recent", RECENT),
            _key("recent", RECENT),
        ],
    )
    metrics = ServiceMetrics(CollectorRegistry())

    purged = await purge_expired(database, RETENTION, metrics=metrics, chunk_rows=10, now=NOW)

    assert purged == {"outbox_message": old, "processed_event": old, "idempotency_record": old}
    assert await _notes(database) == {
        "outbox_message": {"recent", "unpublished"},
        "processed_event": {"recent"},
        "idempotency_record": {"recent"},
    }
    assert _purged(metrics, "processed_event") == old


async def test_exactly_one_chunk_of_old_rows_is_purged_to_the_end(database: Database) -> None:
    """A full chunk means "maybe more": the next chunk finds none and the purge stops."""
    await _add(database, [_inbox(f"old {n}", OLD) for n in range(10)])
    purged = await purge_expired(database, RETENTION, chunk_rows=10, now=NOW)
    assert purged["processed_event"] == 10
    assert (await _notes(database))["processed_event"] == set()
