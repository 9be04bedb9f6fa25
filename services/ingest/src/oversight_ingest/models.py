"""Request and response bodies of ingest's API (create / public, as in the FastAPI template)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oversight_contracts import ExceptionReportCategory, MetricId, OdsCode, Period


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExceptionReportCreate(_Body):
    provider: OdsCode = Field(examples=["RJ1"], description="ODS code of the reporting trust.")
    category: ExceptionReportCategory
    summary: str = Field(min_length=1, max_length=4000)
    occurred_on: date
    reported_by: str = Field(min_length=1, max_length=200, examples=["Director of Finance"])


class ExceptionReportPublic(ExceptionReportCreate):
    id: UUID
    correlation_id: UUID
    received_at: datetime


class ObservationIn(_Body):
    metric: MetricId = Field(examples=["op_ae_4hr_pct"])
    value: float = Field(allow_inf_nan=False)


class SubmissionCreate(_Body):
    provider: OdsCode = Field(examples=["RJ1"])
    period: Period = Field(examples=["2026-09"], description="Calendar month YYYY-MM.")
    observations: list[ObservationIn] = Field(min_length=1, max_length=500)
    submitted_by: str = Field(min_length=1, max_length=200)


class SubmissionPublic(SubmissionCreate):
    id: UUID
    correlation_id: UUID
    received_at: datetime
