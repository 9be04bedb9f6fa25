"""What support coordination keeps: support packages and the timeline of each."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from oversight_runtime.storage import timestamp


class SupportPackage(SQLModel, table=True):
    """A package of support for one need, co-owned by the provider's ICBs and its region."""

    __tablename__ = "support_package"

    id: UUID = Field(primary_key=True)
    need_id: UUID = Field(unique=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    status: str = "draft"
    icbs: list[str] = Field(sa_type=JSON)
    region: str
    summary: str
    created_at: datetime = timestamp()


class PackageTimelineEntry(SQLModel, table=True):
    """Every change to a package, so its history reads as a story (as Dispatch's timelines)."""

    __tablename__ = "package_timeline"

    id: int | None = Field(default=None, primary_key=True)
    package_id: UUID = Field(foreign_key="support_package.id", index=True)
    kind: str
    detail: str
    at: datetime = timestamp()


TABLES = (SupportPackage, PackageTimelineEntry)
