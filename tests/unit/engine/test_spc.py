"""The SPC maths (Making Data Count XmR charts) on known series.

Definition (domain brief, "Statistical process control as the NHS uses it"): process limits at
mean ± 2.66 x the mean moving range, from every point up to the one read; special cause when a
point is beyond a limit, 7 points in a run on one side of the mean, 7 points all rising or all
falling, or two of three points beyond 2/3 of the way to a limit on the same side; improvement or
concern by the metric's direction; nothing is read before 12 points (the nof-2019 pack's
``spc`` section, source "Making Data Count ... para 61").

Expected limits are worked out here by hand from the definition, never by the code under test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oversight_engine import spc
from oversight_engine.spc import Assurance, Signal, Variation

from oversight_contracts.frameworks import Direction, Standard, load_pack

RULE = load_pack("nof-2019").spc
HIGHER, LOWER = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER
SOURCE = "Making Data Count"


def hand_limits(values: Sequence[float], factor: float = 2.66) -> tuple[float, float, float]:
    """(mean, lower, upper) from the definition, with plain arithmetic."""
    total = 0.0
    for value in values:
        total += value
    mean = total / len(values)
    ranges = [abs(values[i] - values[i - 1]) for i in range(1, len(values))]
    moving_range = sum(ranges) / len(ranges)
    return mean, mean - factor * moving_range, mean + factor * moving_range


def test_the_pack_holds_the_making_data_count_parameters() -> None:
    assert SOURCE in RULE.source
    assert RULE.limit_factor == 2.66
    assert (RULE.minimum_points, RULE.run_length, RULE.trend_length) == (12, 7, 7)
    assert RULE.near_limit_fraction == Fraction(2, 3)  # exactly: "two-thirds", not 0.6667


def test_every_pack_holds_exactly_two_thirds() -> None:
    assert {load_pack(p).spc.near_limit_fraction for p in ("nof-2019", "nof-2025")} == {Fraction(2, 3)}


# --- limits --------------------------------------------------------------------------------------


def test_limits_of_a_worked_example() -> None:
    values = [10, 12, 11, 13, 12, 14, 13, 12, 11, 12, 13, 12]
    # sum 145 over 12 points; moving ranges 2,1,2,1,2,1,1,1,1,1,1 sum 14 over 11
    mean, moving_range = 145 / 12, 14 / 11
    chart = spc.limits(values, RULE)
    assert chart.mean == pytest.approx(12.083333, abs=1e-6)
    assert chart.mean == pytest.approx(mean)
    assert chart.upper == pytest.approx(mean + 2.66 * moving_range)  # 15.4688...
    assert chart.lower == pytest.approx(mean - 2.66 * moving_range)  # 8.6978...
    assert chart.upper == pytest.approx(15.468788, abs=1e-6)
    assert chart.lower == pytest.approx(8.697879, abs=1e-6)
    assert chart.near == pytest.approx(2.66 * moving_range * RULE.near_limit_fraction)


def test_limits_of_a_jump() -> None:
    values = [50.0, 52.0] * 5 + [50.0, 70.0]
    # sum 6x50 + 5x52 + 70 = 630, mean 52.5; ten moving ranges of 2 and one of 20: 40/11
    chart = spc.limits(values, RULE)
    assert chart.mean == pytest.approx(52.5)
    assert chart.upper == pytest.approx(52.5 + 2.66 * 40 / 11)  # 62.1727...
    assert chart.lower == pytest.approx(52.5 - 2.66 * 40 / 11)  # 42.8272...


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([10, 12, 11, 13, 12, 14, 13, 12, 11, 12, 13, 12], id="MDC: worked example"),
        pytest.param([96.0, 97.0] * 5 + [96.0, 85.0], id="MDC: A&E falling"),
        pytest.param([0.5, 0.6, 0.4, 0.9, 1.1, 0.7, 0.6, 0.8, 0.5, 0.6, 0.7, 3.0], id="MDC: diagnostics"),
        pytest.param([7.0] * 11 + [9.0], id="MDC: flat then a step"),
        pytest.param(list(range(24)), id="MDC: a straight line"),
    ],
)
def test_limits_match_the_definition(values: list[float]) -> None:
    mean, lower, upper = hand_limits(values)
    chart = spc.limits(values, RULE)
    assert (chart.mean, chart.lower, chart.upper) == pytest.approx((mean, lower, upper))
    assert chart.upper - chart.mean == pytest.approx(chart.mean - chart.lower)  # symmetric


def test_a_constant_series_has_zero_width_limits_and_no_signal() -> None:
    reading = spc.read_point([50.0] * 12, RULE, HIGHER)
    assert reading is not None
    assert (reading.limits.mean, reading.limits.lower, reading.limits.upper) == (50.0, 50.0, 50.0)
    assert reading.variation is Variation.COMMON_CAUSE


def test_limits_come_from_the_points_up_to_the_one_read() -> None:
    """The reading at point 12 is the same whatever comes after it (never looks ahead)."""
    values = [50.0, 52.0] * 5 + [50.0, 70.0]
    later = [*values, 70.0, 70.0, 70.0]
    at_12 = spc.read_point(later[:12], RULE, LOWER)
    assert at_12 == spc.read_point(values, RULE, LOWER)
    assert at_12 is not None
    assert at_12.limits.mean == pytest.approx(52.5)


# --- the 12-point minimum ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "read"),
    [
        pytest.param(2, False, id="MDC: 2 points not read"),
        pytest.param(11, False, id="MDC: 11 points not read"),
        pytest.param(12, True, id="MDC: 12 points read"),
        pytest.param(13, True, id="MDC: 13 points read"),
    ],
)
def test_nothing_is_read_before_12_points(count: int, read: bool) -> None:
    values = [50.0, 52.0] * 10
    values = [*values[: count - 1], 90.0]  # a huge jump as the last point
    reading = spc.read_point(values, RULE, LOWER)
    assert (reading is not None) == read
    if reading is not None:
        assert Signal.BEYOND_LIMIT in reading.concern


# --- the four signals, concern or improvement by direction --------------------------------------

SIGNAL_CASES = [
    pytest.param(
        [50.0, 52.0] * 5 + [50.0, 70.0],
        {Signal.BEYOND_LIMIT},
        +1,
        id="MDC: a point above the upper limit (70 > 62.17)",
    ),
    pytest.param(
        [50.0, 52.0] * 5 + [50.0, 32.0],
        {Signal.BEYOND_LIMIT},
        -1,
        id="MDC: a point below the lower limit",
    ),
    pytest.param(
        [48.0, 50.0, 48.0, 50.0, 48.0, *([51.5, 52.0] * 3), 51.5],
        {Signal.RUN},
        +1,
        id="MDC: a run of 7 above the mean (50.5)",
    ),
    pytest.param(
        [52.0, 50.0, 52.0, 50.0, 52.0, *([48.5, 48.0] * 3), 48.5],
        {Signal.RUN},
        -1,
        id="MDC: a run of 7 below the mean (49.5)",
    ),
    pytest.param(
        [48.0, 50.0, 48.0, 50.0, 48.0, 50.0, *([51.5, 52.0] * 3)],
        set(),
        +1,
        id="MDC: a run of 6 above the mean is not a signal",
    ),
    pytest.param(
        [50.0, 52.0, 50.0, 52.0, 50.0, 50.5, 51.0, 51.5, 52.0, 52.5, 53.0, 53.5],
        {Signal.TREND},
        +1,
        id="MDC: a trend of 7 rising",
    ),
    pytest.param(
        [50.0, 48.0, 50.0, 48.0, 50.0, 49.5, 49.0, 48.5, 48.0, 47.5, 47.0, 46.5],
        {Signal.TREND},
        -1,
        id="MDC: a trend of 7 falling",
    ),
    pytest.param(
        [50.0, 52.0, 50.0, 52.0, 50.0, 52.0, 51.0, 51.5, 52.0, 52.5, 53.0, 53.5],
        set(),
        +1,
        id="MDC: a trend of 6 rising is not a signal",
    ),
    pytest.param(
        [50.0, 52.0] * 5 + [57.5, 51.0, 57.5],
        {Signal.NEAR_LIMIT},
        +1,
        id="MDC: two of three beyond 2/3 of the way to the upper limit",
    ),
    pytest.param(
        [50.0, 52.0] * 5 + [43.5, 51.0, 43.5],
        {Signal.NEAR_LIMIT},
        -1,
        id="MDC: two of three beyond 2/3 of the way to the lower limit",
    ),
    pytest.param(
        [50.0, 52.0] * 5 + [51.0, 51.0, 56.5],
        set(),
        +1,
        id="MDC: one of three near the limit is not a signal",
    ),
    pytest.param(
        [50.0, 52.0] * 5 + [46.5, 57.5],
        set(),
        +1,
        id="MDC: near the limit on opposite sides is not a signal",
    ),
    pytest.param(
        [50.0, 52.0] * 5 + [57.5, 57.5, 51.0],
        set(),
        +1,
        id="MDC: two near the limit then back: nothing at the latest point",
    ),
    pytest.param([50.0, 52.0] * 6, set(), +1, id="MDC: common-cause variation"),
]


@pytest.mark.parametrize(("values", "signals", "side"), SIGNAL_CASES)
@pytest.mark.parametrize("direction", [HIGHER, LOWER], ids=["higher is better", "lower is better"])
def test_each_signal_is_concern_or_improvement_by_direction(
    values: list[float], signals: set[Signal], side: int, direction: Direction
) -> None:
    reading = spc.read_point(values, RULE, direction)
    assert reading is not None
    worse_side = -1 if direction is HIGHER else +1
    concern = signals if side == worse_side else set()
    improvement = signals if side != worse_side else set()
    assert reading.concern == concern
    assert reading.improvement == improvement
    expected = (
        Variation.SPECIAL_CAUSE_CONCERN
        if concern
        else Variation.SPECIAL_CAUSE_IMPROVEMENT
        if improvement
        else Variation.COMMON_CAUSE
    )
    assert reading.variation is expected


def test_the_beyond_limit_case_by_hand() -> None:
    values = [50.0, 52.0] * 5 + [50.0, 70.0]
    _, _, upper = hand_limits(values)
    assert values[-1] > upper  # 70 > 62.17
    reading = spc.read_point(values, RULE, LOWER)
    assert reading is not None and reading.concern == {Signal.BEYOND_LIMIT}


def test_the_near_limit_case_by_hand() -> None:
    values = [50.0, 52.0] * 5 + [57.5, 51.0, 57.5]
    # sum 510 + 57.5 + 51 + 57.5 = 676, mean 52; moving ranges 9x2 + 5.5 + 6.5 + 6.5 = 36.5 over 12
    mean, _, upper = hand_limits(values)
    assert mean == pytest.approx(52.0)
    assert upper == pytest.approx(52.0 + 2.66 * 36.5 / 12)  # 60.09
    two_thirds = mean + (upper - mean) * 2 / 3  # 57.394
    assert two_thirds < 57.5 < upper  # near the limit, not beyond it
    assert two_thirds > 51.0


#: The pack's rule with a limit factor of 3, so that every number of the next two cases is exact in
#: binary floating point and "exactly two-thirds of the way" can be written down.
RULE_3 = RULE.model_copy(update={"limit_factor": 3.0})
#: By hand: 13 points sum 510 + 61 + 51.5 + 60 = 682.5, mean 52.5; moving ranges 9 x 2 + 9 + 9.5
#: + 8.5 = 45 over 12 = 3.75; limit 3 x 3.75 = 11.25 from the mean (63.75); two-thirds of that is
#: 7.5, so close to the limit starts at 52.5 + 7.5 = 60. 61 is beyond it, 51.5 is not.
EXACT_BASE = [50.0, 52.0] * 5 + [61.0, 51.5]


def test_a_point_exactly_two_thirds_of_the_way_to_the_limit_is_not_beyond_two_thirds() -> None:
    """MDC: two of three points *beyond* two-thirds of the way: 60 is at it, not beyond it."""
    values = [*EXACT_BASE, 60.0]
    chart = spc.limits(values, RULE_3)
    assert (chart.mean, chart.upper) == (52.5, 63.75)
    mean, upper = Fraction(chart.mean), Fraction(chart.upper)
    assert Fraction(values[-1]) - mean == Fraction(2, 3) * (upper - mean)  # exactly, no rounding
    reading = spc.read_point(values, RULE_3, LOWER)
    assert reading is not None
    assert reading.concern == set() and reading.improvement == set()


@pytest.mark.parametrize("step", [2.0**-30, 1e-6, 1e-4], ids=["2**-30", "1e-6", "1e-4"])
def test_a_point_any_amount_beyond_two_thirds_is_close_to_the_limit(step: float) -> None:
    """MDC: just beyond two-thirds is close to the limit; 0.6667 of the way would have missed these.

    Raising the last point by ``step`` raises its distance from the mean by 12/13 of ``step`` and
    two-thirds of the limit's distance by 2 x 1/12 of it (its moving range grows by ``step``):
    59/78 of ``step`` beyond two-thirds, and less than 0.6667 - 2/3 of the way to the limit.
    """
    values = [*EXACT_BASE, 60.0 + step]
    mean, _, upper = hand_limits(values, factor=3)
    beyond = Fraction(values[-1]) - Fraction(mean) - Fraction(2, 3) * (Fraction(upper) - Fraction(mean))
    assert beyond > 0
    assert (values[-1] - mean) / (upper - mean) < 0.6667
    reading = spc.read_point(values, RULE_3, LOWER)
    assert reading is not None
    assert reading.concern == {Signal.NEAR_LIMIT}
    assert spc.read_point(values, RULE_3, HIGHER) == spc.PointReading(
        reading.limits, frozenset(), frozenset({Signal.NEAR_LIMIT})
    )


def test_the_pack_rule_reads_a_point_between_two_thirds_and_0_6667_as_close_to_the_limit() -> None:
    """MDC with the pack's 2.66: a point 0.66668 of the way to the limit is beyond two-thirds.

    The last point x is solved for by hand, in exact arithmetic: with S and R the sum and moving
    ranges of the 12 points before it (x above the 12th), mean (S + x) / 13 and mean moving range
    (R + x - 51.5) / 12, x - mean = f x 2.66 x moving range gives x = (S/13 + k (R - 51.5)/12) /
    (1 - 1/13 - k/12) with k = 2.66 f.
    """
    fraction = Fraction(2, 3) + Fraction(1, 60000)  # 0.666683...: past 2/3, short of 0.6667
    k = Fraction(266, 100) * fraction
    before = [Fraction(v) for v in EXACT_BASE]
    total = sum(before)
    ranges = sum(abs(b - a) for a, b in pairwise(before))
    x = (total / 13 + k * (ranges - Fraction(103, 2)) / 12) / (1 - Fraction(1, 13) - k / 12)
    values = [*EXACT_BASE, float(x)]
    mean, _, upper = hand_limits(values)
    assert (values[-1] - mean) / (upper - mean) == pytest.approx(float(fraction), abs=1e-9)
    assert (values[-2] - mean) / (upper - mean) < 2 / 3 < (values[-3] - mean) / (upper - mean) < 1
    reading = spc.read_point(values, RULE, LOWER)
    assert reading is not None
    assert reading.concern == {Signal.NEAR_LIMIT}


def test_a_point_beyond_a_limit_is_also_beyond_two_thirds_and_carries_both_signals() -> None:
    values = [50.0, 52.0] * 5 + [61.0, 72.0]
    # sum 510 + 61 + 72 = 643; moving ranges 9x2 + 9 + 11 = 38 over 11
    mean, _, upper = hand_limits(values)
    assert mean == pytest.approx(643 / 12)
    assert upper == pytest.approx(643 / 12 + 2.66 * 38 / 11)  # 62.77
    two_thirds = mean + (upper - mean) * 2 / 3  # 59.71
    assert two_thirds < 61.0 < upper < 72.0
    reading = spc.read_point(values, RULE, LOWER)
    assert reading is not None
    assert reading.concern == {Signal.BEYOND_LIMIT, Signal.NEAR_LIMIT}


# --- assurance: the standard against the process limits ------------------------------------------


@pytest.mark.parametrize(
    ("values", "standard", "expected"),
    [
        pytest.param(
            [97.0, 97.5] * 6,
            Standard(operator=">=", threshold=95, source="A&E 95%"),
            Assurance.CONSISTENTLY_PASSING,
            id="MDC: both limits above 95% (95.92 to 98.58): consistently passing",
        ),
        pytest.param(
            [85.0, 86.0] * 6,
            Standard(operator=">=", threshold=95, source="A&E 95%"),
            Assurance.CONSISTENTLY_FAILING,
            id="MDC: both limits below 95%: consistently failing",
        ),
        pytest.param(
            [93.0, 97.0] * 6,
            Standard(operator=">=", threshold=95, source="A&E 95%"),
            Assurance.HIT_AND_MISS,
            id="MDC: 95% between the limits: hit and miss",
        ),
        pytest.param(
            [0.2, 0.3] * 6,
            Standard(operator="<=", threshold=1, source="diagnostics 1%"),
            Assurance.CONSISTENTLY_PASSING,
            id="MDC: lower is better, both limits at most 1%: consistently passing",
        ),
    ],
)
def test_assurance(values: list[float], standard: Standard, expected: Assurance) -> None:
    _, lower, upper = hand_limits(values)
    by_hand = (
        Assurance.CONSISTENTLY_PASSING
        if standard.met(lower) and standard.met(upper)
        else Assurance.CONSISTENTLY_FAILING
        if not standard.met(lower) and not standard.met(upper)
        else Assurance.HIT_AND_MISS
    )
    assert by_hand is expected
    assert spc.assurance(spc.limits(values, RULE), standard) is expected


# --- huge values: the maths cannot overflow ----------------------------------------------------

BIGGEST = 1.7976931348623157e308  # the largest float


def exact_limits(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, lower, upper) from the definition in exact rational arithmetic (never overflows).

    A limit beyond the largest float is given as ±inf, which is what a float can say of it.
    """
    points = [Fraction(v) for v in values]
    mean = sum(points) / len(points)
    moving_range = sum(abs(b - a) for a, b in pairwise(points)) / (len(points) - 1)
    width = Fraction(RULE.limit_factor) * moving_range

    def as_float(x: Fraction) -> float:
        return float(x) if abs(x) <= BIGGEST else math.inf if x > 0 else -math.inf

    return as_float(mean), as_float(mean - width), as_float(mean + width)


def test_a_jump_among_values_near_1e308_is_beyond_the_limit() -> None:
    """The A&E jump of the worked case at 1e306 times the scale: the sum alone (6.3e308) overflows.

    By hand: mean 5.25e307, mean moving range 40/11 x 1e306, upper limit 6.217e307 < 7e307.
    """
    values = [5e307, 5.2e307] * 5 + [5e307, 7e307]
    mean, lower, upper = exact_limits(values)
    assert upper == pytest.approx(5.25e307 + 2.66 * 40 / 11 * 1e306)
    chart = spc.limits(values, RULE)
    assert (chart.mean, chart.lower, chart.upper) == pytest.approx((mean, lower, upper))
    reading = spc.read_point(values, RULE, LOWER)
    assert reading is not None
    assert reading.concern == {Signal.BEYOND_LIMIT}
    assert reading.variation is Variation.SPECIAL_CAUSE_CONCERN


def test_a_drop_from_the_largest_float_to_zero_is_beyond_the_lower_limit() -> None:
    """11 x the largest float then 0: mean 11/12 of it, moving range 1/11, lower limit 0.675 of it.

    The upper limit, 1.16 x the largest float, cannot be a float: it is inf (nothing is beyond it),
    never nan, and assurance still reads it.
    """
    values = [BIGGEST] * 11 + [0.0]
    mean, lower, upper = exact_limits(values)
    assert upper == math.inf
    chart = spc.limits(values, RULE)
    assert (chart.mean, chart.lower) == pytest.approx((mean, lower))
    assert chart.upper == math.inf
    assert not any(math.isnan(x) for x in (chart.mean, chart.lower, chart.upper, chart.near))
    reading = spc.read_point(values, RULE, HIGHER)
    assert reading is not None
    assert reading.concern == {Signal.BEYOND_LIMIT}
    standard = Standard(operator=">=", threshold=6.2, source="teamwork")
    assert spc.assurance(chart, standard) is Assurance.CONSISTENTLY_PASSING  # 0.675 x 1.8e308 >= 6.2


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([BIGGEST] * 12, id="the largest float twelve times"),
        pytest.param([BIGGEST, 0.0] * 6, id="alternating with 0"),
        pytest.param([BIGGEST, -BIGGEST] * 6, id="alternating sign: moving ranges of 2 x the largest"),
        pytest.param([BIGGEST / 11 * i for i in range(12)], id="a straight line up to it"),
    ],
)
@pytest.mark.parametrize("direction", [HIGHER, LOWER], ids=["higher is better", "lower is better"])
def test_huge_values_give_a_reading_with_no_nan(values: list[float], direction: Direction) -> None:
    reading = spc.read_point(values, RULE, direction)
    assert reading is not None
    chart = reading.limits
    assert not any(math.isnan(x) for x in (chart.mean, chart.lower, chart.upper, chart.near))
    assert chart.lower <= chart.mean <= chart.upper
    mean, lower, upper = exact_limits(values)
    assert (chart.mean, chart.lower, chart.upper) == pytest.approx((mean, lower, upper))


def times_two_to(x: float, power: int) -> float:
    """``x * 2**power``, or ±inf beyond the largest float."""
    try:
        return math.ldexp(x, power)
    except OverflowError:
        return math.copysign(math.inf, x)


#: Values a metric might take (to three decimals), and a power of two that takes them up to 1e308.
ordinary = st.lists(st.integers(-(10**6), 10**6).map(lambda i: i / 1000), min_size=12, max_size=24)


@given(values=ordinary, power=st.integers(0, 1013))
def test_a_series_scaled_up_to_1e308_reads_as_the_same_series(values: list[float], power: int) -> None:
    """Every XmR rule is unchanged by a change of units: multiplying every value by a power of two
    (exact in floating point) gives the same signals, and limits scaled the same way (inf beyond
    the largest float). Up to 1000 x 2**1013 (about 1e308), where the sums overflowed."""
    scaled = [math.ldexp(v, power) for v in values]
    for direction in (HIGHER, LOWER):
        small, huge = spc.read_point(values, RULE, direction), spc.read_point(scaled, RULE, direction)
        assert small is not None and huge is not None
        assert (huge.concern, huge.improvement) == (small.concern, small.improvement)
        for name in ("mean", "lower", "upper"):
            assert getattr(huge.limits, name) == times_two_to(getattr(small.limits, name), power), name
