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

from collections.abc import Sequence

import pytest
from oversight_engine import spc
from oversight_engine.spc import Assurance, Signal, Variation

from oversight_contracts.frameworks import Direction, Standard, load_pack

RULE = load_pack("nof-2019").spc
HIGHER, LOWER = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER
SOURCE = "Making Data Count"


def hand_limits(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, lower, upper) from the definition, with plain arithmetic."""
    total = 0.0
    for value in values:
        total += value
    mean = total / len(values)
    ranges = [abs(values[i] - values[i - 1]) for i in range(1, len(values))]
    moving_range = sum(ranges) / len(ranges)
    return mean, mean - 2.66 * moving_range, mean + 2.66 * moving_range


def test_the_pack_holds_the_making_data_count_parameters() -> None:
    assert SOURCE in RULE.source
    assert RULE.limit_factor == 2.66
    assert (RULE.minimum_points, RULE.run_length, RULE.trend_length) == (12, 7, 7)
    assert RULE.near_limit_fraction == pytest.approx(2 / 3, abs=1e-4)


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
