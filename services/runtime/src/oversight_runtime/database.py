"""The service's own database: an async engine, transactions, and Alembic migrations at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            # One connection, so one writer: SQLite takes one writer at a time anyway, and
            # connections queueing in the pool is cheaper and fairer than connections contending
            # for the file lock (which made ingest's p99 seconds under load).
            kwargs |= {"connect_args": {"timeout": 30}, "pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: everything inside commits together or not at all."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrate(self, script_location: Path) -> None:
        """Bring the schema to head; Alembic's async env needs its own event loop, so a thread."""
        if self.is_sqlite:
            db_path = self.url.split("///", 1)[-1]
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        config = Config()
        config.set_main_option("script_location", str(script_location))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        await asyncio.to_thread(command.upgrade, config, "head")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers (the CLI, a backup) never block the writer. synchronous=NORMAL in WAL mode
    # syncs at checkpoints, not at every commit: a commit survives the process crashing (the
    # crash tests kill services mid-batch), only a power cut can lose the last moments, which
    # the embedded default accepts (PostgreSQL is the production store). A busy timeout waits
    # for another process's lock instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
