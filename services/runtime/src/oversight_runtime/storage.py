"""Tables every service has: the outbox, the inbox of processed events and idempotency keys.

They live in each service's own database so that a state change, the events it causes, the
record that an incoming event was handled and the answer to a write request all commit in one
transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlmodel import Field, SQLModel

from oversight_contracts import Actor


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    """A timezone-aware timestamp column."""
    if nullable:
        return Field(default=None, sa_type=UtcDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=index)


class OutboxMessage(SQLModel, table=True):
    """An event waiting to be published, written in the transaction that caused it."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    event_id: UUID = Field(unique=True)
    event_type: str
    topic: str
    key: str
    correlation_id: UUID
    payload: str
    #: Trace context of the transaction that wrote the row, so the publish joins the same trace.
    headers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = timestamp()
    published_at: datetime | None = timestamp(nullable=True, index=True)
    #: Set when the row can never be published as it is (too large for the broker): moved aside so
    #: later rows flow; ``oversight outbox redrive`` clears it once the cause is fixed.
    parked_at: datetime | None = timestamp(nullable=True, index=True)
    attempts: int = 0
    last_error: str | None = None


class ProcessedEvent(SQLModel, table=True):
    """The inbox: which events this service's handlers have already applied."""

    __tablename__ = "processed_event"

    event_id: UUID = Field(primary_key=True)
    handler: str = Field(primary_key=True)
    event_type: str
    #: Indexed for the retention purge.
    processed_at: datetime = timestamp(index=True)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer given to a write request, replayed when the same caller sends the same key.

    A key belongs to its caller (the token's user id) and its endpoint: one user's key can neither
    block nor replay another's answer.
    """

    __tablename__ = "idempotency_record"

    principal: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    endpoint: str = Field(primary_key=True, max_length=200)
    request_hash: str
    status_code: int
    response_body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: Indexed for the retention purge.
    created_at: datetime = timestamp(index=True)


class ActedBy(SQLModel):
    """Who took the human act a row records, from their token (a mixin for such tables).

    Rows from before sign-in existed hold the free-text name only, with empty id, organisation
    and role.
    """

    actor_user_id: str = Field(max_length=200)
    actor_name: str = Field(max_length=200)
    actor_organisation: str = Field(max_length=5)
    actor_role: str = Field(max_length=40)

    @staticmethod
    def of(actor: Actor) -> dict[str, Any]:
        """The columns for ``actor``, to spread into a row's constructor."""
        return {
            "actor_user_id": actor.user_id,
            "actor_name": actor.name,
            "actor_organisation": actor.organisation,
            "actor_role": actor.role,
        }

    def recorded_actor(self) -> Actor | None:
        """The actor, or None for a row from before sign-in (a name and nothing else)."""
        if not self.actor_user_id:
            return None
        return Actor(
            user_id=self.actor_user_id,
            name=self.actor_name,
            organisation=self.actor_organisation,
            role=self.actor_role,
        )


RUNTIME_TABLES: tuple[type[SQLModel], ...] = (OutboxMessage, ProcessedEvent, IdempotencyRecord)
