"""What metrics keeps: each provider's series of observations and the triggers it raised."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from oversight_runtime.storage import timestamp


class Observation(SQLModel, table=True):
    """The latest value of one metric for one provider and month (a resubmission replaces it)."""

    __tablename__ = "observation"
    __table_args__ = (UniqueConstraint("provider", "metric", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(index=True, max_length=5)
    metric: str = Field(index=True, max_length=64)
    period: str = Field(max_length=7)
    value: float
    submission_id: UUID
    recorded_at: datetime = timestamp()


class RaisedTrigger(SQLModel, table=True):
    __tablename__ = "raised_trigger"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    code: str = Field(max_length=64)
    theme: str
    metric: str | None = None
    evidence: str
    source: str
    framework_paragraph: str
    raised_at: datetime = timestamp()
    cleared_at: datetime | None = timestamp(nullable=True)


TABLES = (Observation, RaisedTrigger)
