"""Framework packs: the oversight rules as versioned data, each rule naming its source paragraph.

Packs live in ``contracts/frameworks/<id>.yaml``. The engine (``oversight_engine``) evaluates
whichever pack is active; nothing about a framework's thresholds or wording lives in code. A pack
is validated against these models when loaded, so a typo in a pack fails loudly, not silently.
"""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from oversight_contracts.codes import ExceptionReportCategory, MetricId, Theme

PACK_DIR = Path(__file__).resolve().parents[2] / "frameworks"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Direction(StrEnum):
    """Which way is better; special-cause concern is only ever read in the other direction."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class Rating(StrEnum):
    """CQC and Use of Resources ratings (para 45)."""

    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"


class ThemeInfo(_Rule):
    name: str
    source: str


class Standard(_Rule):
    """An operational standard: the metric meets it when ``value <operator> threshold``."""

    operator: Literal[">=", "<="]
    threshold: float
    source: str

    def met(self, value: float) -> bool:
        return value >= self.threshold if self.operator == ">=" else value <= self.threshold

    def describe(self) -> str:
        return f"{'≥' if self.operator == '>=' else '≤'} {self.threshold:g}"


class MetricScoreBand(_Rule):
    """A scored-approach band: 1.00 at or better than ``best``, 4.00 at or worse than ``worst``."""

    best: float
    worst: float


class MetricRule(_Rule):
    name: str
    theme: Theme
    unit: str
    direction: Direction
    frequency: Literal["monthly", "quarterly", "annual"] = "monthly"
    standard: Standard | None = None
    #: Watch this metric with Making Data Count SPC rules.
    spc: bool = False
    score: MetricScoreBand | None = None
    #: Values outside these bounds are refused as bad input (e.g. a percentage above 100).
    minimum: float | None = None
    maximum: float | None = None
    source: str

    def out_of_bounds(self, value: float) -> str | None:
        """Why ``value`` cannot be a value of this metric, or None if it can."""
        if self.minimum is not None and value < self.minimum:
            return f"{value:g} is below the smallest possible value {self.minimum:g} ({self.unit})"
        if self.maximum is not None and value > self.maximum:
            return f"{value:g} is above the largest possible value {self.maximum:g} ({self.unit})"
        return None


class FinanceMetricBands(_Rule):
    """Score 1, 2, 3 at or beyond each threshold in turn (in the metric's better direction), else 4."""

    thresholds: tuple[float, float, float]
    source: str


class FinanceModeration(_Rule):
    when: Literal["any_metric_scored_4", "no_control_total", "financial_special_measures"]
    #: The overall score becomes at least this (higher is worse).
    at_least: int = Field(ge=1, le=4)
    description: str
    source: str


class FinanceScoreRule(_Rule):
    metrics: dict[MetricId, FinanceMetricBands] = Field(min_length=1)
    rounding: Literal["half_to_worse"] = "half_to_worse"
    moderations: list[FinanceModeration] = []
    source: str


class SpcRule(_Rule):
    """Making Data Count XmR rules (see the domain brief)."""

    minimum_points: int = Field(ge=2)
    limit_factor: float
    run_length: int
    trend_length: int
    #: "Close to the limit" starts this far from the mean towards the limit. Written as a fraction
    #: (``"2/3"``) so the rule is exact: a decimal such as 0.6667 is not two-thirds.
    near_limit_fraction: Fraction = Field(gt=0, lt=1)
    source: str


class TriggerKind(StrEnum):
    RATING = "rating"
    EXCEPTION_REPORT = "exception_report"
    FACT_NOT_MET = "fact_not_met"
    SPC_CONCERN = "spc_concern"
    FINANCE_SCORE = "finance_score"
    STANDARD_FAILED = "standard_failed"
    STANDARD_DETERIORATION = "standard_deterioration"
    MATERIAL_CONCERN = "material_concern"
    METRIC_SCORE = "metric_score"


class TriggerRule(_Rule):
    name: str
    kind: TriggerKind
    #: Fixed theme; None where the theme comes from the report or concern itself.
    theme: Theme | None = None
    #: For ratings: the fact group (``cqc`` or ``use_of_resources``) and the questions read.
    fact: str | None = None
    questions: list[str] = []
    ratings: list[Rating] = []
    #: Ratings that are a cause for concern under para 31 (act before the quarterly review).
    cause_for_concern_ratings: list[Rating] = []
    #: Every instance of this trigger is a cause for concern under para 31.
    cause_for_concern: bool = False
    #: For metric kinds: which theme's metrics are read.
    metrics_theme: Theme | None = None
    #: For ``finance_score``/``metric_score``: the score at or above which it triggers.
    at_least: float | None = None
    #: For ``standard_failed``: consecutive failing months needed.
    consecutive_periods: int = 1
    #: The trigger clears when its condition has not held for this many consecutive periods;
    #: 0 means it follows a fact (a notice stays raised until it is resolved).
    clears_after_periods: int = Field(default=2, ge=0)
    #: What the trust would need to show for it to clear; ``{metric}``, ``{standard}`` filled in.
    clears_when: str
    source: str


class ExceptionReportRule(_Rule):
    theme: Theme
    #: The trigger code this category raises.
    trigger: str = "exception_report"
    source: str


class SegmentCondition(_Rule):
    """All given conditions must hold; an empty condition always holds."""

    special_measures: bool | None = None
    support_need: bool | None = None
    licence: list[Literal["compliant", "suspected_breach", "breach"]] | None = None
    intensive_support: bool | None = None


class SegmentRule(_Rule):
    segment: int = Field(ge=1, le=5)
    name: str
    support_offered: str
    when: SegmentCondition = SegmentCondition()
    source: str


class QuarterlyReview(_Rule):
    """Earned autonomy (para 31): segment-1 providers move only at the quarterly review."""

    segment: int
    review_months: list[int] = Field(min_length=1)
    source: str


class ScoredSegmentation(_Rule):
    """The scored approach: mean metric score to segment by upper bounds, with a deficit floor."""

    #: Upper bound (inclusive) of the mean score for segments 1, 2, 3; above the last is 4.
    upper_bounds: tuple[float, float, float]
    deficit_floor_segment: int
    deficit_metric: MetricId
    source: str


class Segmentation(_Rule):
    method: Literal["triggers", "scored"]
    #: First matching rule wins (``triggers``); for ``scored`` only the rules' names are used.
    rules: list[SegmentRule] = Field(min_length=1)
    quarterly_review: QuarterlyReview | None = None
    scored: ScoredSegmentation | None = None

    @model_validator(mode="after")
    def _scored_needs_bounds(self) -> Segmentation:
        if self.method == "scored" and self.scored is None:
            raise ValueError("a scored segmentation needs `scored` bounds")
        return self

    def rule_for(self, segment: int) -> SegmentRule:
        return next(r for r in self.rules if r.segment == segment)


class FrameworkPack(_Rule):
    id: str
    title: str
    version: int
    notes: str = ""
    themes: dict[Theme, ThemeInfo]
    metrics: dict[MetricId, MetricRule]
    finance_score: FinanceScoreRule | None = None
    spc: SpcRule
    triggers: dict[str, TriggerRule]
    exception_reports: dict[ExceptionReportCategory, ExceptionReportRule]
    segmentation: Segmentation

    @model_validator(mode="after")
    def _consistent(self) -> FrameworkPack:
        missing_themes = set(Theme) - set(self.themes)
        if missing_themes:
            raise ValueError(f"themes missing from the pack: {sorted(missing_themes)}")
        unmapped = set(ExceptionReportCategory) - set(self.exception_reports)
        if unmapped:
            raise ValueError(f"exception-report categories not mapped: {sorted(unmapped)}")
        for category, rule in self.exception_reports.items():
            if rule.trigger not in self.triggers:
                raise ValueError(f"exception report {category} raises unknown trigger {rule.trigger!r}")
        if self.finance_score:
            unknown = set(self.finance_score.metrics) - set(self.metrics)
            if unknown:
                raise ValueError(f"finance score uses unknown metrics: {sorted(unknown)}")
        return self


class UnknownFramework(LookupError):
    pass


def available_packs() -> list[str]:
    return sorted(p.stem for p in PACK_DIR.glob("*.yaml"))


@cache
def load_pack(pack_id: str) -> FrameworkPack:
    path = PACK_DIR / f"{pack_id}.yaml"
    if not path.is_file():
        raise UnknownFramework(f"unknown framework {pack_id!r}; available: {available_packs()}")
    return FrameworkPack.model_validate(yaml.safe_load(path.read_text("utf-8")))
