"""The unit of work handed to API routes and event handlers: one transaction, plus the outbox.

A unit of work may hold a whole batch of events (see ``consumer``). Handlers then ask for work
that depends only on a provider's state after the batch, such as re-evaluating it, with
``once``: it runs once per key, after the batch's last event, inside the same transaction.
``cache`` keeps what such work reads (a provider's series) for the length of the unit of work.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from oversight_contracts import Envelope
from oversight_contracts.frameworks import FrameworkPack
from oversight_runtime.changes import ChangeFeed, check_channel, pg_channel
from oversight_runtime.outbox import outbox_values
from oversight_runtime.reference import OrganisationRegistry
from oversight_runtime.storage import OutboxMessage

Work = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class UnitOfWork:
    session: AsyncSession
    registry: OrganisationRegistry
    framework: FrameworkPack
    #: The service name, used as every event's ``source``.
    source: str
    staged: list[Envelope[Any]] = field(default_factory=list)
    #: Rows written in bulk just before the commit (the outbox's, the inbox's): one statement per
    #: table for a whole batch, which a handler's query never flushes early one by one.
    inserts: dict[type[SQLModel], list[dict[str, Any]]] = field(default_factory=dict)
    #: Work asked for with ``once``, by key, in the order first asked, with the context it was
    #: asked in.
    deferred: dict[Hashable, tuple[contextvars.Context, Work]] = field(default_factory=dict)
    #: What this unit of work has read and may read again (e.g. a provider's history).
    cache: dict[Hashable, Any] = field(default_factory=dict)
    #: Called after the transaction commits (e.g. to wake live streams); never on a rollback.
    committed: list[Callable[[], None]] = field(default_factory=list)
    #: The service's change feed, which ``changed`` wakes after the commit (None: no service).
    feed: ChangeFeed | None = None
    #: Channels ``changed`` was told of, announced when the unit of work commits.
    changes: set[str] = field(default_factory=set)

    def publish(self, event: Envelope[Any]) -> None:
        """Publish an event if, and only if, this unit of work commits."""
        self.insert_later(OutboxMessage, outbox_values(event))
        self.staged.append(event)

    def insert_later(self, table: type[SQLModel], values: dict[str, Any]) -> None:
        """Insert a row (every column's value given) with the others of its table before the
        commit; for rows nothing in the unit of work reads back."""
        self.inserts.setdefault(table, []).append(values)

    async def write_inserts(self) -> None:
        """After the session's own changes, which these rows may refer to."""
        if not self.inserts:
            return  # the commit flushes the session's own changes
        await self.session.flush()
        for table, rows in self.inserts.items():
            await insert_rows(self.session, table, rows)
        self.inserts.clear()

    def once(self, key: Hashable, work: Work) -> None:
        """Run ``work`` before the commit, once for ``key`` however many events ask; the last
        ask's ``work`` is the one run (it carries the latest cause), in the context it was asked
        in (that event's trace and correlation id, so what it publishes continues them)."""
        self.deferred[key] = (contextvars.copy_context(), work)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the transaction has committed."""
        if callback not in self.committed:
            self.committed.append(callback)

    def changed(self, channel: str) -> None:
        """Say that what readers of ``channel`` watch has changed (e.g. an alert was stored).

        Once the transaction commits, whoever waits on the channel wakes: in this process through
        the service's feed, and on PostgreSQL in every replica through a ``NOTIFY`` sent inside
        the transaction (delivered at the commit, never on a rollback). See ``changes``.
        """
        if channel in self.changes:
            return
        self.changes.add(check_channel(channel))
        self.after_commit(self._wake_readers)
        if self.session.get_bind().dialect.name == "postgresql":
            self.once(("changed", channel), partial(self._notify_replicas, channel))

    def _wake_readers(self) -> None:
        if self.feed is not None:
            for channel in sorted(self.changes):
                self.feed.notify(channel)

    async def _notify_replicas(self, channel: str) -> None:
        await self.session.exec(select(func.pg_notify(pg_channel(channel), "")))

    async def run_deferred(self) -> None:
        """Run the work asked for with ``once``; work may ask for more, which runs too."""
        while self.deferred:
            key = next(iter(self.deferred))
            context, work = self.deferred.pop(key)
            await asyncio.create_task(work(), context=context)


async def insert_rows(session: AsyncSession, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert many rows in one executemany on the session's connection: the table's own INSERT,
    not the ORM's bulk path, which costs more than the database for rows nothing reads back."""
    connection = await session.connection()
    await connection.execute(table.__table__.insert(), rows)  # type: ignore[attr-defined]
