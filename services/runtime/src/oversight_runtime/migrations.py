"""The Alembic environment every service shares: its ``env.py`` is two lines that call this.

Each service database holds the runtime's tables (outbox, inbox, idempotency keys) plus the
service's own, so migrations compare against exactly that set.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from oversight_runtime.storage import RUNTIME_TABLES


def service_metadata(*service_tables: type[SQLModel]) -> MetaData:
    """A MetaData holding the runtime tables and the given service tables only."""
    metadata = MetaData()
    for table in (*RUNTIME_TABLES, *service_tables):
        table.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def run_migrations(target_metadata: MetaData) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set for the migration")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_do_run, target_metadata)
    await engine.dispose()


def _do_run(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
