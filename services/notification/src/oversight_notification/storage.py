"""What notification keeps: alerts and who each is addressed to."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

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


class AlertAudience(SQLModel, table=True):
    """An organisation (ICB or region) the alert is addressed to."""

    __tablename__ = "alert_audience"

    alert_id: int = Field(foreign_key="alert.id", primary_key=True)
    organisation: str = Field(primary_key=True, max_length=5, index=True)


TABLES = (Alert, AlertAudience)
