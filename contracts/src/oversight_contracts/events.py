"""Every event the services exchange, as versioned payload models.

Adding an optional field is compatible; renaming, removing or retyping one is not and needs a
new ``.v2`` type (with its own topic) published alongside the old one until consumers move.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oversight_contracts.codes import (
    ExceptionReportCategory,
    MetricId,
    OdsCode,
    Period,
    Theme,
)
from oversight_contracts.envelope import Envelope


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- ingest -----------------------------------------------------------------------------------


class ExceptionReportReceivedData(Payload):
    report_id: UUID
    provider: OdsCode
    category: ExceptionReportCategory
    summary: str = Field(min_length=1, max_length=4000)
    occurred_on: date
    reported_by: str = Field(min_length=1, max_length=200)


class ExceptionReportReceived(Envelope[ExceptionReportReceivedData]):
    """A trust reported a material event by exception (para 21, Figure 2)."""

    type: Literal["exception_report.received.v1"] = "exception_report.received.v1"


class ObservationValue(Payload):
    metric: MetricId
    value: float = Field(allow_inf_nan=False)


class SubmissionReceivedData(Payload):
    submission_id: UUID
    provider: OdsCode
    period: Period
    observations: list[ObservationValue] = Field(min_length=1)
    submitted_by: str = Field(min_length=1, max_length=200)


class SubmissionReceived(Envelope[SubmissionReceivedData]):
    """A trust's return: a batch of metric values for one provider and period (para 18)."""

    type: Literal["submission.received.v1"] = "submission.received.v1"


# --- metrics ----------------------------------------------------------------------------------


class MetricEvaluatedData(Payload):
    submission_id: UUID
    provider: OdsCode
    metric: MetricId
    period: Period
    value: float = Field(allow_inf_nan=False)
    #: True when this value replaced an earlier one for the same metric and period (a resubmission).
    revised: bool = False


class MetricEvaluated(Envelope[MetricEvaluatedData]):
    """One observation stored and evaluated by the metrics service."""

    type: Literal["metric.evaluated.v1"] = "metric.evaluated.v1"


class TriggerRaisedData(Payload):
    trigger_id: UUID
    provider: OdsCode
    code: str = Field(min_length=1, max_length=64, description="Trigger code from the framework pack.")
    theme: Theme
    metric: MetricId | None = None
    evidence: str = Field(min_length=1)
    source: str = Field(min_length=1, description="What raised it, e.g. exception_report:<id>.")
    framework_paragraph: str = Field(min_length=1, description="The framework paragraph behind it.")
    raised_at: datetime


class TriggerRaised(Envelope[TriggerRaisedData]):
    """A trigger of concern was hit for a provider under one theme (paras 36-61)."""

    type: Literal["trigger.raised.v1"] = "trigger.raised.v1"


# --- segmentation -----------------------------------------------------------------------------


class SupportNeedIdentifiedData(Payload):
    need_id: UUID
    provider: OdsCode
    theme: Theme
    trigger_ids: list[UUID] = Field(min_length=1)
    trigger_codes: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)
    identified_at: datetime


class SupportNeedIdentified(Envelope[SupportNeedIdentifiedData]):
    """A potential support need for a provider under one theme (para 24)."""

    type: Literal["support_need.identified.v1"] = "support_need.identified.v1"


# --- support coordination ---------------------------------------------------------------------


class SupportPackageProposedData(Payload):
    package_id: UUID
    need_id: UUID
    provider: OdsCode
    provider_name: str
    theme: Theme
    status: str = Field(description="Lifecycle status; a proposal starts as 'draft'.")
    icbs: list[OdsCode] = Field(min_length=1, description="ICBs that co-own the package with the region.")
    region: OdsCode
    summary: str = Field(min_length=1)
    proposed_at: datetime


class SupportPackageProposed(Envelope[SupportPackageProposedData]):
    """A draft support package was opened for a support need (paras 32-35)."""

    type: Literal["support_package.proposed.v1"] = "support_package.proposed.v1"


#: Every event type, in the order of the main flow.
ALL_EVENTS: tuple[type[Envelope[Payload]], ...] = (  # type: ignore[assignment]
    ExceptionReportReceived,
    SubmissionReceived,
    MetricEvaluated,
    TriggerRaised,
    SupportNeedIdentified,
    SupportPackageProposed,
)

EVENTS_BY_TYPE: dict[str, type[Envelope[Payload]]] = {e.event_type(): e for e in ALL_EVENTS}
