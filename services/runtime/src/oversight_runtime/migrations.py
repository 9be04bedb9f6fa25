"""The Alembic environment every service shares: its ``env.py`` is two lines that call this.

Each service database holds the runtime's tables (outbox, inbox, idempotency keys) plus the
service's own, so migrations compare against exactly that set.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from oversight_runtime.storage import RUNTIME_TABLES, UtcDateTime


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


# --- steps shared by every service's revisions ---------------------------------------------


def idempotency_keys_per_caller() -> None:
    """Make idempotency keys belong to their caller: the key table is recreated with the caller
    in its primary key. Keys kept from before sign-in are dropped: they belonged to no one, and
    no signed-in caller can present them as their own."""
    from alembic import op

    op.drop_table("idempotency_record")
    op.create_table(
        "idempotency_record",
        sa.Column("principal", AutoString(length=200), nullable=False),
        sa.Column("key", AutoString(length=200), nullable=False),
        sa.Column("endpoint", AutoString(length=200), nullable=False),
        sa.Column("request_hash", AutoString(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", "endpoint"),
    )


def actor_columns(table: str, *, free_text_column: str | None) -> None:
    """Add the ``ActedBy`` columns to ``table``; the old free-text name column, if any, becomes
    ``actor_name`` so rows from before sign-in keep the name they gave."""
    from alembic import op

    with op.batch_alter_table(table) as batch:
        if free_text_column is not None:
            batch.alter_column(free_text_column, new_column_name="actor_name", type_=AutoString(length=200))
        else:
            batch.add_column(
                sa.Column("actor_name", AutoString(length=200), nullable=False, server_default="")
            )
        for name, length in (("actor_user_id", 200), ("actor_organisation", 5), ("actor_role", 40)):
            batch.add_column(sa.Column(name, AutoString(length=length), nullable=False, server_default=""))


def outbox_rows_can_be_parked() -> None:
    """``outbox_message.parked_at``: a row that can never be published is moved aside."""
    from alembic import op

    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("parked_at", UtcDateTime(timezone=True), nullable=True))
        batch.create_index("ix_outbox_message_parked_at", ["parked_at"], unique=False)


def outbox_rows_cannot_be_parked() -> None:
    from alembic import op

    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index("ix_outbox_message_parked_at")
        batch.drop_column("parked_at")


def retention_purge_is_indexed() -> None:
    """Index what the retention purge selects by (``retention``): when an event was processed and
    when an idempotency key was first answered. ``outbox_message.published_at`` already is."""
    from alembic import op

    op.create_index("ix_processed_event_processed_at", "processed_event", ["processed_at"], unique=False)
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"], unique=False)


def retention_purge_is_not_indexed() -> None:
    from alembic import op

    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    op.drop_index("ix_processed_event_processed_at", table_name="processed_event")
