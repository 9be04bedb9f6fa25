"""What segmentation keeps: each provider's support needs and the triggers behind them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from oversight_runtime.storage import timestamp


class SupportNeed(SQLModel, table=True):
    """A potential support need under one theme; open until resolved."""

    __tablename__ = "support_need"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    status: str = "open"
    reason: str
    identified_at: datetime = timestamp()
    resolved_at: datetime | None = timestamp(nullable=True)


class NeedTrigger(SQLModel, table=True):
    """A trigger counted towards a support need."""

    __tablename__ = "need_trigger"

    trigger_id: UUID = Field(primary_key=True)
    need_id: UUID = Field(foreign_key="support_need.id", index=True)
    code: str
    evidence: str
    framework_paragraph: str
    raised_at: datetime = timestamp()


TABLES = (SupportNeed, NeedTrigger)
