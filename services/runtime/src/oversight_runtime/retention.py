"""Forget what no longer matters: old published outbox rows, inbox rows and idempotency keys.

Each of these tables gains a row per event or write request, for ever, unless purged. Rows older
than the retention window (``ServiceSettings.retention_days``) are deleted on a timer in every
service:

* outbox rows published before the window (an unpublished or parked row is kept however old: it
  is work still to do, or evidence for whoever re-drives it);
* inbox rows (``processed_event``) recorded before the window: the window outlasts the broker's
  log retention, so any event the broker could still deliver again is still recognised;
* idempotency keys first answered before the window: a retry with an older key runs as new.

Rows go in chunks, each its own short transaction, so a large purge never holds SQLite's write
lock (or many PostgreSQL row locks) for long; replicas purging at once skip each other's rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, tuple_
from sqlmodel import SQLModel, col, select

from oversight_runtime.database import Database
from oversight_runtime.storage import IdempotencyRecord, OutboxMessage, ProcessedEvent, utcnow
from oversight_runtime.telemetry import ServiceMetrics

log = logging.getLogger(__name__)

#: Rows deleted by one statement (one transaction).
CHUNK_ROWS = 5_000


@dataclass(frozen=True)
class _Purge:
    table: str
    model: type[SQLModel]
    #: The columns naming one row (its primary key).
    key: tuple[Any, ...]
    #: Which rows are old enough to go, given the cutoff.
    expired: Callable[[datetime], tuple[ColumnElement[bool], ...]]


PURGES = (
    _Purge(
        "outbox_message",
        OutboxMessage,
        (col(OutboxMessage.id),),
        lambda cutoff: (col(OutboxMessage.published_at) < cutoff, col(OutboxMessage.parked_at).is_(None)),
    ),
    _Purge(
        "processed_event",
        ProcessedEvent,
        (col(ProcessedEvent.event_id), col(ProcessedEvent.handler)),
        lambda cutoff: (col(ProcessedEvent.processed_at) < cutoff,),
    ),
    _Purge(
        "idempotency_record",
        IdempotencyRecord,
        (col(IdempotencyRecord.principal), col(IdempotencyRecord.key), col(IdempotencyRecord.endpoint)),
        lambda cutoff: (col(IdempotencyRecord.created_at) < cutoff,),
    ),
)


async def purge_expired(
    database: Database,
    retention: timedelta,
    *,
    metrics: ServiceMetrics | None = None,
    chunk_rows: int = CHUNK_ROWS,
    now: datetime | None = None,
) -> dict[str, int]:
    """Delete every row older than ``retention``; returns how many went, by table."""
    cutoff = (now or utcnow()) - retention
    purged: dict[str, int] = {}
    for purge in PURGES:
        purged[purge.table] = 0
        while True:
            deleted = await _delete_chunk(database, purge, cutoff, chunk_rows)
            purged[purge.table] += deleted
            if metrics is not None and deleted:
                metrics.rows_purged.labels(purge.table).inc(deleted)
            if deleted < chunk_rows:
                break
            await asyncio.sleep(0)  # let the service's own work at the database in between
    if any(purged.values()):
        log.info(
            "purged rows older than %s: %s",
            retention,
            ", ".join(f"{n} from {table}" for table, n in purged.items()),
        )
    return purged


async def _delete_chunk(database: Database, purge: _Purge, cutoff: datetime, chunk_rows: int) -> int:
    """One statement: ``DELETE ... WHERE key IN (SELECT key ... LIMIT n)``, the subquery using the
    table's index on its age column."""
    chosen = select(*purge.key).where(*purge.expired(cutoff)).limit(chunk_rows)
    if not database.is_sqlite:
        chosen = chosen.with_for_update(skip_locked=True)  # another replica's chunk: skipped
    key = purge.key[0] if len(purge.key) == 1 else tuple_(*purge.key)
    async with database.transaction() as session:
        result = await session.exec(
            delete(purge.model).where(key.in_(chosen)).execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)
