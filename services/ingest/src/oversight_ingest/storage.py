"""What ingest keeps: every exception report, return, fact and concern it accepted, as received,
with the signed-in user who sent it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON
from sqlmodel import Field

from oversight_runtime.storage import ActedBy, timestamp


class ExceptionReportRecord(ActedBy, table=True):
    __tablename__ = "exception_report"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    category: str
    summary: str
    occurred_on: date
    correlation_id: UUID
    received_at: datetime = timestamp()


class SubmissionRecord(ActedBy, table=True):
    __tablename__ = "submission"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    period: str = Field(index=True, max_length=7)
    observations: list[dict[str, Any]] = Field(sa_type=JSON)
    correlation_id: UUID
    received_at: datetime = timestamp()


class ProviderFactsEntry(ActedBy, table=True):
    __tablename__ = "provider_facts_entry"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    facts: dict[str, Any] = Field(sa_type=JSON)
    recorded_on: date
    correlation_id: UUID
    received_at: datetime = timestamp()


class MaterialConcernRecord(ActedBy, table=True):
    __tablename__ = "material_concern"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    summary: str
    intelligence_source: str
    raised_on: date
    correlation_id: UUID
    received_at: datetime = timestamp()


TABLES = (ExceptionReportRecord, SubmissionRecord, ProviderFactsEntry, MaterialConcernRecord)
