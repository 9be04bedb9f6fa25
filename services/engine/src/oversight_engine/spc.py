"""Statistical process control as NHS England's Making Data Count programme uses it (XmR charts).

Written here rather than imported: the maintained implementation of these rules,
NHSRplotthedots, is an R package, and the Python SPC packages on PyPI implement Western Electric
rule sets with different run lengths and no improvement/concern reading. The maths is small; the
rule parameters come from the framework pack's ``spc`` section.

Every judgement is made *at* a point, with limits from that point and all before it, so a later
point never changes what an earlier month looked like when it was reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from statistics import fmean

from oversight_contracts.frameworks import Direction, SpcRule, Standard


class Signal(StrEnum):
    BEYOND_LIMIT = "a point beyond the process limit"
    RUN = "a run of points on one side of the mean"
    TREND = "a trend of points all moving one way"
    NEAR_LIMIT = "two of three points close to the process limit"


class Variation(StrEnum):
    COMMON_CAUSE = "common_cause"
    SPECIAL_CAUSE_CONCERN = "special_cause_concern"
    SPECIAL_CAUSE_IMPROVEMENT = "special_cause_improvement"


class Assurance(StrEnum):
    CONSISTENTLY_PASSING = "consistently_passing"
    CONSISTENTLY_FAILING = "consistently_failing"
    HIT_AND_MISS = "hit_and_miss"


@dataclass(frozen=True)
class Limits:
    mean: float
    lower: float
    upper: float
    #: How far from the mean "close to the limit" starts.
    near: float


@dataclass(frozen=True)
class PointReading:
    """What the chart says about one point."""

    limits: Limits
    concern: frozenset[Signal]
    improvement: frozenset[Signal]

    @property
    def variation(self) -> Variation:
        if self.concern:
            return Variation.SPECIAL_CAUSE_CONCERN
        if self.improvement:
            return Variation.SPECIAL_CAUSE_IMPROVEMENT
        return Variation.COMMON_CAUSE


def limits(values: Sequence[float], rule: SpcRule) -> Limits:
    """Mean ± limit factor times the mean moving range (the XmR chart's natural process limits)."""
    centre = fmean(values)
    moving_range = fmean(abs(b - a) for a, b in pairwise(values))
    width = rule.limit_factor * moving_range
    return Limits(centre, centre - width, centre + width, width * rule.near_limit_fraction)


def read_point(values: Sequence[float], rule: SpcRule, direction: Direction) -> PointReading | None:
    """Read the last point of ``values``; None until the series has the pack's minimum points."""
    if len(values) < rule.minimum_points:
        return None
    chart = limits(values, rule)
    high = _signals(values, chart, rule, sign=1)
    low = _signals(values, chart, rule, sign=-1)
    concern, improvement = (high, low) if direction is Direction.LOWER_IS_BETTER else (low, high)
    return PointReading(chart, concern, improvement)


def _signals(values: Sequence[float], chart: Limits, rule: SpcRule, sign: int) -> frozenset[Signal]:
    """Signals on one side (``sign`` +1 above the mean, -1 below) that include the last point."""
    distance = [sign * (v - chart.mean) for v in values]
    width = chart.upper - chart.mean
    found = set()
    if width > 0 and distance[-1] > width:
        found.add(Signal.BEYOND_LIMIT)
    if len(values) >= rule.run_length and all(d > 0 for d in distance[-rule.run_length :]):
        found.add(Signal.RUN)
    if len(values) >= rule.trend_length:
        tail = distance[-rule.trend_length :]
        if all(b > a for a, b in pairwise(tail)):
            found.add(Signal.TREND)
    near = [d > chart.near for d in distance[-3:]]
    if chart.near > 0 and near[-1] and sum(near) >= 2:
        found.add(Signal.NEAR_LIMIT)
    return frozenset(found)


def assurance(chart: Limits, standard: Standard) -> Assurance:
    """Whether the process limits say the standard will be met every time, never, or sometimes."""
    passes_low, passes_high = standard.met(chart.lower), standard.met(chart.upper)
    if passes_low and passes_high:
        return Assurance.CONSISTENTLY_PASSING
    if not passes_low and not passes_high:
        return Assurance.CONSISTENTLY_FAILING
    return Assurance.HIT_AND_MISS
