"""Statistical process control as NHS England's Making Data Count programme uses it (XmR charts).

Written here rather than imported: the maintained implementation of these rules,
NHSRplotthedots, is an R package, and the Python SPC packages on PyPI implement Western Electric
rule sets with different run lengths and no improvement/concern reading. The maths is small; the
rule parameters come from the framework pack's ``spc`` section.

Every judgement is made *at* a point, with limits from that point and all before it, so a later
point never changes what an earlier month looked like when it was reported.

Huge values cannot overflow the maths. A metric with no maximum may be sent values near the
largest float (1e308): their sum, their moving ranges or ``mean + 2.66 x moving range`` would
overflow (``fmean`` raises OverflowError; the limits would become inf and their differences nan).
So the chart is worked in *scaled* units: every value divided by the same power of two, chosen so
the largest magnitude is below 1. Dividing by a power of two only changes a float's exponent, so
it is exact, and every later step (sum, difference, product, comparison) gives the same result in
scaled units as it would unscaled, only without overflow: scaled values are below 1, moving ranges
below 2 and limits within a few units of zero. The signals are read in scaled units and so are
exactly the signals of the unscaled chart. Only the limits reported in :class:`Limits` are put back
into the metric's units, and a limit beyond the largest float is reported as ±inf, which is what
it is (no float is beyond it) and which still compares correctly with a standard, never nan.
This was chosen over treating a non-finite limit as "no signal": that would hide a real signal in
a series of huge values (a drop from 1.7e308 to 0 is beyond the limits), where scaling reads it.

The two-thirds rule is exact: the pack gives ``near_limit_fraction`` as a fraction (``"2/3"``),
and a point's distance from the mean is compared with that fraction of the distance to the limit
in exact rational arithmetic, so a point exactly two-thirds of the way to a limit is not beyond
two-thirds (NHSRplotthedots, too, counts only points strictly beyond it) and a point any float
further is. With 0.6667 a point between 2/3 and 0.6667 of the way was missed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
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
    """Mean ± limit factor times the mean moving range (the XmR chart's natural process limits).

    In the metric's units; a limit beyond the largest float is ±inf (see the module docstring).
    """
    return _chart(values, rule).limits


def read_point(values: Sequence[float], rule: SpcRule, direction: Direction) -> PointReading | None:
    """Read the last point of ``values``; None until the series has the pack's minimum points."""
    if len(values) < rule.minimum_points:
        return None
    chart = _chart(values, rule)
    high = _signals(chart, rule, sign=1)
    low = _signals(chart, rule, sign=-1)
    concern, improvement = (high, low) if direction is Direction.LOWER_IS_BETTER else (low, high)
    return PointReading(chart.limits, concern, improvement)


@dataclass(frozen=True)
class _Chart:
    """The chart in scaled units (every value times ``2 ** -exponent``), and its limits unscaled."""

    values: list[float]
    mean: float
    #: Distance from the mean to either process limit.
    width: float
    #: The pack's near-limit fraction, and the float nearest ``width x fraction``.
    fraction: Fraction
    near: float
    limits: Limits

    def close_to_limit(self, distance: float) -> bool:
        """``distance > width x fraction`` in exact arithmetic: beyond 2/3 means beyond 2/3.

        ``near`` is the float nearest the exact threshold, so a float distance either side of
        ``near`` is on that side of the threshold too; only a distance equal to ``near`` needs
        the exact comparison.
        """
        if distance != self.near:
            return distance > self.near
        return Fraction(distance) > Fraction(self.width) * self.fraction


def _chart(values: Sequence[float], rule: SpcRule) -> _Chart:
    # frexp: largest == m * 2**exponent with 0.5 <= m < 1, so every scaled value is below 1 in
    # magnitude. ldexp by a power of two is exact, except for a value under 2**-1021 of the
    # largest, which keeps fewer digits than usual; those digits are far below any limit.
    exponent = math.frexp(max(map(abs, values)))[1]
    scaled = [math.ldexp(v, -exponent) for v in values]
    centre = fmean(scaled)
    width = rule.limit_factor * fmean(abs(b - a) for a, b in pairwise(scaled))
    fraction = rule.near_limit_fraction
    numerator, denominator = width.as_integer_ratio()
    # int / int is correctly rounded: the float nearest width x fraction.
    near = (numerator * fraction.numerator) / (denominator * fraction.denominator)
    chart = Limits(
        mean=_unscaled(centre, exponent),
        lower=_unscaled(centre - width, exponent),
        upper=_unscaled(centre + width, exponent),
        near=_unscaled(near, exponent),
    )
    return _Chart(scaled, centre, width, fraction, near, chart)


def _unscaled(value: float, exponent: int) -> float:
    """``value * 2**exponent``; ±inf where that is beyond the largest float."""
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def _signals(chart: _Chart, rule: SpcRule, sign: int) -> frozenset[Signal]:
    """Signals on one side (``sign`` +1 above the mean, -1 below) that include the last point."""
    values = chart.values
    distance = [sign * (v - chart.mean) for v in values]
    found = set()
    if chart.width > 0 and distance[-1] > chart.width:
        found.add(Signal.BEYOND_LIMIT)
    if len(values) >= rule.run_length and all(d > 0 for d in distance[-rule.run_length :]):
        found.add(Signal.RUN)
    if len(values) >= rule.trend_length:
        tail = distance[-rule.trend_length :]
        if all(b > a for a, b in pairwise(tail)):
            found.add(Signal.TREND)
    near = [chart.close_to_limit(d) for d in distance[-3:]]
    if chart.width > 0 and near[-1] and sum(near) >= 2:
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
