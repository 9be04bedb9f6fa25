"""Every service's migrations build exactly the tables its models declare, on SQLite (the embedded
default) and on a real PostgreSQL: a column added to a model without a revision (or a revision
that differs from its model) is found here, not by a service failing on a fresh database."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from oversight_runtime.database import Database
from oversight_runtime.migrations import service_metadata

SERVICES = ["ingest", "metrics", "segmentation", "support_coordination", "notification"]


def _service(name: str) -> tuple[MetaData, Path]:
    storage = importlib.import_module(f"oversight_{name}.storage")
    return service_metadata(*storage.TABLES), Path(storage.__file__).parent / "migrations"


def _differences(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _drift(url: str, name: str) -> list[object]:
    metadata, migrations = _service(name)
    database = Database(url)
    try:
        await database.migrate(migrations)
        async with database.engine.connect() as connection:
            return await connection.run_sync(_differences, metadata)
    finally:
        await database.dispose()


@pytest.mark.parametrize("name", SERVICES)
async def test_sqlite_schema_at_head_is_the_models(name: str, tmp_path: Path) -> None:
    assert await _drift(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", name) == []


@pytest.mark.postgres
@pytest.mark.parametrize("name", SERVICES)
async def test_postgres_schema_at_head_is_the_models(name: str, new_database: Callable[[str], str]) -> None:
    assert await _drift(new_database("drift"), name) == []
