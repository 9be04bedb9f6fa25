"""What metrics keeps: each provider's series, the reports and facts the triggers read, and the
triggers it raised (open until cleared)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, UniqueConstraint
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


class ProviderFactsRecord(SQLModel, table=True):
    """The latest known facts about a provider (ratings, licence, special measures...)."""

    __tablename__ = "provider_facts"

    provider: str = Field(primary_key=True, max_length=5)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = timestamp()


class ExceptionReportSeen(SQLModel, table=True):
    __tablename__ = "exception_report_seen"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    category: str
    summary: str
    received: date


class MaterialConcernSeen(SQLModel, table=True):
    __tablename__ = "material_concern_seen"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    summary: str
    raised: date


class RaisedTrigger(SQLModel, table=True):
    """A trigger raised for a provider; ``cleared_at`` is set when its condition stops holding."""

    __tablename__ = "raised_trigger"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    key: str = Field(default="", max_length=200, index=True)
    cause_for_concern: bool = False
    code: str = Field(max_length=64)
    theme: str
    metric: str | None = None
    evidence: str
    source: str
    framework_paragraph: str
    raised_at: datetime = timestamp()
    cleared_at: datetime | None = timestamp(nullable=True)


class ProviderMetricScores(SQLModel, table=True):
    """The scores last published for a provider under a scored framework (NOF 2025/26).

    Kept so that ``metric_scores.calculated`` is published only when the scores change.
    """

    __tablename__ = "provider_metric_scores"

    provider: str = Field(primary_key=True, max_length=5)
    framework: str = Field(max_length=32)
    metric_scores: dict[str, float] = Field(default_factory=dict, sa_type=JSON)
    mean_score: float | None = None
    in_financial_deficit: bool = False
    calculated_at: datetime = timestamp()


class TriggerReviewScheduled(SQLModel, table=True):
    """A provider's daily trigger review, once scheduled; the key stops a second one that day."""

    __tablename__ = "trigger_review_scheduled"

    provider: str = Field(primary_key=True, max_length=5)
    review_date: date = Field(primary_key=True)
    scheduled_at: datetime = timestamp()


TABLES = (
    Observation,
    ProviderFactsRecord,
    ExceptionReportSeen,
    MaterialConcernSeen,
    RaisedTrigger,
    ProviderMetricScores,
    TriggerReviewScheduled,
)
