"""Request and response bodies of ingest's API (create / public, as in the FastAPI template).

Who sent something is never part of a request: it is the signed-in user, and a response shows
it as ``actor``.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from oversight_contracts import Actor, ExceptionReportCategory, MetricId, Name, OdsCode, Period, Prose, Theme
from oversight_contracts.scenario import FACT_FIELDS, RecordedFacts


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Accepted(BaseModel):
    """What every accepted write answers with besides its own fields."""

    id: UUID
    correlation_id: UUID
    received_at: datetime
    #: The signed-in user who sent it; None only for what arrived before sign-in existed.
    actor: Actor | None


class ExceptionReportCreate(_Body):
    provider: OdsCode = Field(
        examples=["RJ1"], description="ODS code of the reporting trust: the user's own."
    )
    category: ExceptionReportCategory
    summary: Prose = Field(min_length=1, max_length=4000)
    occurred_on: date


class ExceptionReportPublic(ExceptionReportCreate, _Accepted):
    pass


class ObservationIn(_Body):
    metric: MetricId = Field(examples=["op_ae_4hr_pct"])
    #: Strict: a JSON number, never ``true`` or ``"12"`` read as one.
    value: float = Field(allow_inf_nan=False, strict=True)


class SubmissionCreate(_Body):
    provider: OdsCode = Field(examples=["RJ1"], description="ODS code of the trust: the user's own.")
    period: Period = Field(examples=["2026-09"], description="Calendar month YYYY-MM.")
    observations: list[ObservationIn] = Field(min_length=1, max_length=500)


class SubmissionPublic(SubmissionCreate, _Accepted):
    pass


#: The most returns one bulk request takes: a national import or a backfill larger than this is
#: sent as several requests, so one request's transaction and answer stay a bounded size.
BULK_MAX_ITEMS = 1000


class SubmissionBatch(RootModel[list[SubmissionCreate]]):
    """The returns of one bulk request, each exactly the body of ``POST /v1/submissions``."""

    root: list[SubmissionCreate] = Field(min_length=1, max_length=BULK_MAX_ITEMS)


class AcceptedReturn(BaseModel):
    """One return of a bulk request as it was stored; ``GET /v1/submissions/{id}`` gives it whole."""

    id: UUID
    provider: OdsCode
    period: Period
    #: The request's: every return of one request, and all that follows from each, shares it.
    correlation_id: UUID


class BulkSubmissionAccepted(BaseModel):
    """The answer to a bulk request: every return was accepted, in the order sent."""

    count: int
    received_at: datetime
    #: The signed-in user who sent them.
    actor: Actor
    accepted: list[AcceptedReturn]


class ProviderFactsCreate(_Body, RecordedFacts):
    """Facts recorded by the regional team or ICS; give only what changed."""

    provider: OdsCode = Field(examples=["RJ1"])
    recorded_on: date

    @model_validator(mode="after")
    def _some_fact(self) -> ProviderFactsCreate:
        if not self.model_dump(include=set(FACT_FIELDS), exclude_none=True):
            raise ValueError("give at least one fact (cqc, use_of_resources, licence, special_measures, ...)")
        return self


class ProviderFactsPublic(ProviderFactsCreate, _Accepted):
    pass


class MaterialConcernCreate(_Body):
    """Intelligence entered by an ICS or regional user (whistleblowers, coroners, Healthwatch, MPs)."""

    provider: OdsCode = Field(examples=["RJ1"])
    theme: Theme
    summary: Prose = Field(min_length=1, max_length=4000)
    intelligence_source: Name = Field(min_length=1, max_length=200, examples=["coroner"])
    raised_on: date


class MaterialConcernPublic(MaterialConcernCreate, _Accepted):
    pass
