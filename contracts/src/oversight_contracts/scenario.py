"""The input and output of ``oversight evaluate``: one provider's position under a framework pack.

The services feed the same engine with the same shapes, so a scenario file is also a faithful
record of what a service saw when it raised a trigger or proposed a segment.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from oversight_contracts.codes import ExceptionReportCategory, MetricId, OdsCode, Period, Theme
from oversight_contracts.frameworks import Rating

Licence = Literal["compliant", "suspected_breach", "breach"]
SpecialMeasures = Literal["none", "quality", "finance", "both"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioProvider(_Model):
    ods_code: OdsCode
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="e.g. acute, mental_health, community, ambulance")
    icbs: list[OdsCode] = Field(min_length=1)
    region: OdsCode


class Observation(_Model):
    metric: MetricId
    period: Period
    value: float = Field(allow_inf_nan=False)


class CqcRatings(_Model):
    overall: Rating | None = None
    safe: Rating | None = None
    effective: Rating | None = None
    caring: Rating | None = None
    responsive: Rating | None = None
    well_led: Rating | None = None


class RecordedFacts(BaseModel):
    """The facts oversight teams record about a provider (paras 37-46); any may be absent.

    One definition for the scenario, the ``provider_facts.recorded`` event and ingest's request,
    so a new fact is added once.
    """

    cqc: CqcRatings | None = None
    use_of_resources: Rating | None = None
    control_total_agreed: bool | None = Field(default=None, strict=True)
    licence: Licence | None = None
    special_measures: SpecialMeasures | None = None
    seven_day_standards_met: bool | None = Field(default=None, strict=True)
    #: Scored approach (nof-2025): in deficit caps the segment; absent means read the I&E margin.
    in_financial_deficit: bool | None = Field(default=None, strict=True)
    #: Scored approach (nof-2025): in the Recovery Support / Provider Improvement Programme.
    intensive_support: bool | None = Field(default=None, strict=True)


#: The names of the recorded facts, e.g. to pick them out of an event.
FACT_FIELDS: frozenset[str] = frozenset(RecordedFacts.model_fields)


class ProviderFacts(_Model, RecordedFacts):
    """What is known about the provider beyond its metrics; any fact may be absent."""

    current_segment: int | None = Field(default=None, ge=1, le=5)


class ScenarioExceptionReport(_Model):
    category: ExceptionReportCategory
    received: date
    summary: str = Field(min_length=1)
    #: When a notice was lifted or an action concluded; the fact changing clears its trigger.
    resolved: date | None = None


class MaterialConcern(_Model):
    theme: Theme
    raised: date
    summary: str = Field(min_length=1)


class Scenario(_Model):
    framework: str = "nof-2019"
    as_of: date
    provider: ScenarioProvider
    observations: list[Observation] = []
    facts: ProviderFacts = ProviderFacts()
    exception_reports: list[ScenarioExceptionReport] = []
    material_concerns: list[MaterialConcern] = []


# --- output -------------------------------------------------------------------------------------


class Moderation(_Model):
    rule: str
    description: str
    source: str
    before: int
    after: int


class FinanceScore(_Model):
    period: Period
    metrics: dict[MetricId, int]
    mean: float
    overall: int = Field(ge=1, le=4)
    moderations: list[Moderation]


class MetricScores(_Model):
    """The scored approach (nof-2025): each metric 1.00-4.00 and their mean."""

    metrics: dict[MetricId, float]
    mean: float | None
    in_financial_deficit: bool


class Trigger(_Model):
    code: str
    theme: Theme
    metric: MetricId | None
    evidence: str
    source: str = Field(description="The framework paragraph behind the rule.")
    #: A stable identity, so a service can tell a trigger still raised from a new one.
    key: str
    #: Whether it justifies a segment change before the quarterly review (para 31).
    cause_for_concern: bool = False


class PathwayStep(_Model):
    action: str
    clears: list[str] = Field(description="Keys of the triggers this step clears.")
    segment_after: int = Field(ge=1, le=5)
    source: str


class Evaluation(_Model):
    framework: str
    as_of: date
    provider: ScenarioProvider
    finance_score: FinanceScore | None
    scores: MetricScores | None = None
    triggers: list[Trigger]
    support_needs: dict[Theme, bool]
    proposed_segment: int = Field(ge=1, le=5)
    segment_name: str
    decision_timing: Literal["immediate", "next_quarterly_review"]
    review_date: date | None
    rationale: list[str]
    pathway: list[PathwayStep]
