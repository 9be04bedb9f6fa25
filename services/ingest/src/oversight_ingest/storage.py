"""What ingest keeps: every exception report and return it accepted, as received."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from oversight_runtime.storage import timestamp


class ExceptionReportRecord(SQLModel, table=True):
    __tablename__ = "exception_report"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    category: str
    summary: str
    occurred_on: date
    reported_by: str
    correlation_id: UUID
    received_at: datetime = timestamp()


class SubmissionRecord(SQLModel, table=True):
    __tablename__ = "submission"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    period: str = Field(index=True, max_length=7)
    submitted_by: str
    observations: list[dict[str, Any]] = Field(sa_type=JSON)
    correlation_id: UUID
    received_at: datetime = timestamp()


class ProviderFactsEntry(SQLModel, table=True):
    __tablename__ = "provider_facts_entry"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    facts: dict[str, Any] = Field(sa_type=JSON)
    recorded_on: date
    recorded_by: str
    correlation_id: UUID
    received_at: datetime = timestamp()


class MaterialConcernRecord(SQLModel, table=True):
    __tablename__ = "material_concern"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    summary: str
    intelligence_source: str
    raised_on: date
    raised_by: str
    correlation_id: UUID
    received_at: datetime = timestamp()


TABLES = (ExceptionReportRecord, SubmissionRecord, ProviderFactsEntry, MaterialConcernRecord)
