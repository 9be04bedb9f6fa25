"""Request and response bodies of ingest's API (create / public, as in the FastAPI template)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from oversight_contracts import ExceptionReportCategory, MetricId, OdsCode, Period, Theme
from oversight_contracts.scenario import FACT_FIELDS, RecordedFacts


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


class ProviderFactsCreate(_Body, RecordedFacts):
    """Facts recorded by the regional team or ICS; give only what changed."""

    provider: OdsCode = Field(examples=["RJ1"])
    recorded_on: date
    recorded_by: str = Field(min_length=1, max_length=200, examples=["NHS England London region"])

    @model_validator(mode="after")
    def _some_fact(self) -> ProviderFactsCreate:
        if not self.model_dump(include=set(FACT_FIELDS), exclude_none=True):
            raise ValueError("give at least one fact (cqc, use_of_resources, licence, special_measures, ...)")
        return self


class ProviderFactsPublic(ProviderFactsCreate):
    id: UUID
    correlation_id: UUID
    received_at: datetime


class MaterialConcernCreate(_Body):
    """Intelligence entered by an ICS or regional user (whistleblowers, coroners, Healthwatch, MPs)."""

    provider: OdsCode = Field(examples=["RJ1"])
    theme: Theme
    summary: str = Field(min_length=1, max_length=4000)
    intelligence_source: str = Field(min_length=1, max_length=200, examples=["coroner"])
    raised_on: date
    raised_by: str = Field(min_length=1, max_length=200, examples=["South East London ICB quality team"])


class MaterialConcernPublic(MaterialConcernCreate):
    id: UUID
    correlation_id: UUID
    received_at: datetime
