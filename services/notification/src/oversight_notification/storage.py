"""What notification keeps: alerts and who each is addressed to.

(No ``from __future__ import annotations``: SQLModel resolves relationship annotations itself.)
"""

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, Relationship, SQLModel

from oversight_runtime.storage import timestamp


class Alert(SQLModel, table=True):
    """One live alert; the integer id orders the stream and resumes it (Last-Event-ID)."""

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: UUID = Field(unique=True)
    provider: str = Field(index=True, max_length=5)
    provider_name: str
    kind: str
    title: str
    body: str
    source_event_id: UUID
    correlation_id: UUID
    created_at: datetime = timestamp()
    # A string, not a postponed annotation: SQLModel reads it to build the relationship.
    audiences: list["AlertAudience"] = Relationship()


class AlertAudience(SQLModel, table=True):
    """An organisation (ICB or region) the alert is addressed to."""

    __tablename__ = "alert_audience"

    #: Set from the alert when both are written (``Alert.audiences``).
    alert_id: int | None = Field(default=None, foreign_key="alert.id", primary_key=True)
    organisation: str = Field(primary_key=True, max_length=5, index=True)


TABLES = (Alert, AlertAudience)
