"""Every nof-2019 rule, table by table, each case naming the paragraph of the framework behind it.

Source text: NHS Oversight Framework 2019/20 annex 1 (shared/seeds/003): para 21 and Figure 2
(exception reports), para 31 (earned autonomy), para 37 (quality triggers), paras 40-41 (finance
score and its moderation), trigger list after para 46 (finance), para 48 and the list after it
(operational performance), paras 55-56 and 59 (leadership), Table 2 (segments). SPC rules follow
Making Data Count. "engine" marks how ``oversight_engine`` applies a rule the text leaves open.

Each scenario is built in the test and run through ``oversight_engine.evaluate`` (or the module
function under test), and every expectation is written out here, not read back from the pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction

import pytest
from oversight_engine import evaluate
from oversight_engine import finance as engine_finance
from oversight_engine import segments as engine_segments
from oversight_engine.periods import month_index, period_of

from oversight_contracts.codes import ExceptionReportCategory, Theme
from oversight_contracts.frameworks import Rating, load_pack
from oversight_contracts.scenario import (
    CqcRatings,
    Evaluation,
    MaterialConcern,
    Observation,
    ProviderFacts,
    Scenario,
    ScenarioExceptionReport,
    ScenarioProvider,
    Trigger,
)

PACK = load_pack("nof-2019")
AS_OF = date(2026, 11, 23)
LATEST = "2026-10"
PROVIDER = ScenarioProvider(
    ods_code="ZZ9", name="Example Acute NHS Trust (fictional)", kind="acute", icbs=["QKK"], region="Y56"
)

FINANCE_METRICS = (
    "fin_capital_service_capacity",
    "fin_liquidity_days",
    "fin_ie_margin_pct",
    "fin_distance_from_plan_pct",
    "fin_agency_spend_vs_cap_pct",
)
#: A value of each finance metric well inside each score's band (para 40): score -> value.
FINANCE_VALUE = {
    "fin_capital_service_capacity": {1: 3.0, 2: 2.0, 3: 1.5, 4: 1.0},
    "fin_liquidity_days": {1: 5.0, 2: -3.0, 3: -10.0, 4: -20.0},
    "fin_ie_margin_pct": {1: 2.0, 2: 0.5, 3: -0.5, 4: -2.0},
    "fin_distance_from_plan_pct": {1: 0.5, 2: -0.5, 3: -1.5, 4: -3.0},
    "fin_agency_spend_vs_cap_pct": {1: -5.0, 2: 10.0, 3: 30.0, 4: 60.0},
}

#: SPC series: 11 points of common-cause variation, to which a test adds the 12th and later points.
HSMR_BASE = [100.0, 104.0] * 5 + [100.0]
AE_BASE = [96.0, 97.0] * 5 + [96.0]
SICKNESS_BASE = [4.0, 4.2] * 5 + [4.0]
TEAMWORK_BASE = [7.0, 7.2] * 5 + [7.0]
FFT_BASE = [80.0, 82.0] * 5 + [80.0]


# --- building scenarios --------------------------------------------------------------------------


def periods(count: int, end: str = LATEST) -> list[str]:
    """``count`` consecutive calendar months ending with ``end``."""
    index = month_index(end)
    return [period_of(i) for i in range(index - count + 1, index + 1)]


def series(metric: str, values: Sequence[float], end: str = LATEST) -> list[Observation]:
    """Monthly observations of ``metric``, the last in ``end``."""
    return [
        Observation(metric=metric, period=period, value=value)
        for period, value in zip(periods(len(values), end), values, strict=True)
    ]


def finance_month(scores: Sequence[int], period: str = LATEST) -> list[Observation]:
    """The five finance metrics in ``period`` at values scoring ``scores`` (in FINANCE_METRICS order)."""
    return [
        Observation(metric=metric, period=period, value=FINANCE_VALUE[metric][score])
        for metric, score in zip(FINANCE_METRICS, scores, strict=True)
    ]


def finance_months(*months: Sequence[int], end: str = LATEST) -> list[Observation]:
    """Consecutive months of finance returns, the last in ``end``, one score tuple per month."""
    return [
        observation
        for period, scores in zip(periods(len(months), end), months, strict=True)
        for observation in finance_month(scores, period)
    ]


def report(
    category: ExceptionReportCategory | str,
    received: date = date(2026, 11, 2),
    resolved: date | None = None,
) -> ScenarioExceptionReport:
    return ScenarioExceptionReport(
        category=ExceptionReportCategory(category),
        received=received,
        summary="reported by exception",
        resolved=resolved,
    )


def concern(theme: Theme, raised: date = date(2026, 11, 2)) -> MaterialConcern:
    return MaterialConcern(theme=theme, raised=raised, summary="whistleblower information")


def scenario(
    observations: Sequence[Observation] = (),
    facts: ProviderFacts | None = None,
    reports: Sequence[ScenarioExceptionReport] = (),
    concerns: Sequence[MaterialConcern] = (),
    as_of: date = AS_OF,
) -> Scenario:
    return Scenario(
        framework="nof-2019",
        as_of=as_of,
        provider=PROVIDER,
        observations=list(observations),
        facts=facts or ProviderFacts(),
        exception_reports=list(reports),
        material_concerns=list(concerns),
    )


def cqc(**ratings: Rating) -> ProviderFacts:
    return ProviderFacts(cqc=CqcRatings(**ratings))


def triggered(evaluation: Evaluation, key: str) -> Trigger | None:
    return next((t for t in evaluation.triggers if t.key == key), None)


def keys(evaluation: Evaluation) -> set[str]:
    return {t.key for t in evaluation.triggers}


INADEQUATE, RI = Rating.INADEQUATE, Rating.REQUIRES_IMPROVEMENT
GOOD, OUTSTANDING = Rating.GOOD, Rating.OUTSTANDING


# --- finance score: each metric scored 1 to 4 (para 40) ------------------------------------------

METRIC_SCORE_CASES = [
    # capital service capacity: 1 if >= 2.5, 2 if >= 1.75, 3 if >= 1.25, else 4
    ("fin_capital_service_capacity", 3.0, 1),
    ("fin_capital_service_capacity", 2.5, 1),
    ("fin_capital_service_capacity", 2.49, 2),
    ("fin_capital_service_capacity", 1.75, 2),
    ("fin_capital_service_capacity", 1.74, 3),
    ("fin_capital_service_capacity", 1.25, 3),
    ("fin_capital_service_capacity", 1.24, 4),
    ("fin_capital_service_capacity", -1.0, 4),
    # liquidity days: 1 if >= 0, 2 if >= -7, 3 if >= -14, else 4
    ("fin_liquidity_days", 10.0, 1),
    ("fin_liquidity_days", 0.0, 1),
    ("fin_liquidity_days", -0.1, 2),
    ("fin_liquidity_days", -7.0, 2),
    ("fin_liquidity_days", -7.1, 3),
    ("fin_liquidity_days", -14.0, 3),
    ("fin_liquidity_days", -14.1, 4),
    # I&E margin %: 1 if >= 1, 2 if >= 0, 3 if >= -1, else 4
    ("fin_ie_margin_pct", 1.0, 1),
    ("fin_ie_margin_pct", 0.99, 2),
    ("fin_ie_margin_pct", 0.0, 2),
    ("fin_ie_margin_pct", -0.01, 3),
    ("fin_ie_margin_pct", -1.0, 3),
    ("fin_ie_margin_pct", -1.01, 4),
    # distance from plan %: 1 if >= 0, 2 if >= -1, 3 if >= -2, else 4
    ("fin_distance_from_plan_pct", 0.0, 1),
    ("fin_distance_from_plan_pct", -0.01, 2),
    ("fin_distance_from_plan_pct", -1.0, 2),
    ("fin_distance_from_plan_pct", -1.01, 3),
    ("fin_distance_from_plan_pct", -2.0, 3),
    ("fin_distance_from_plan_pct", -2.01, 4),
    # agency spend above the cap %: lower is better; 1 if <= 0, 2 if <= 25, 3 if <= 50, else 4
    ("fin_agency_spend_vs_cap_pct", -10.0, 1),
    ("fin_agency_spend_vs_cap_pct", 0.0, 1),
    ("fin_agency_spend_vs_cap_pct", 0.1, 2),
    ("fin_agency_spend_vs_cap_pct", 25.0, 2),
    ("fin_agency_spend_vs_cap_pct", 25.1, 3),
    ("fin_agency_spend_vs_cap_pct", 50.0, 3),
    ("fin_agency_spend_vs_cap_pct", 50.1, 4),
]


@pytest.mark.parametrize(
    ("source", "metric", "value", "expected"),
    [pytest.param("para 40", m, v, s, id=f"para 40: {m} {v:g} scores {s}") for m, v, s in METRIC_SCORE_CASES],
)
def test_each_finance_metric_scores_1_to_4_on_its_bands(
    source: str, metric: str, value: float, expected: int
) -> None:
    values = {m: FINANCE_VALUE[m][1] for m in FINANCE_METRICS} | {metric: value}
    observations = [Observation(metric=m, period=LATEST, value=v) for m, v in values.items()]
    result = evaluate(scenario(observations)).finance_score
    assert result is not None
    assert result.metrics[metric] == expected
    assert source in PACK.finance_score.metrics[metric].source  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("source", "mean", "expected"),
    [
        pytest.param("paras 40-41", Fraction(1), 1, id="para 40: mean 1 is 1"),
        pytest.param("paras 40-41", Fraction(7, 5), 1, id="para 40: mean 1.4 rounds to 1"),
        pytest.param("paras 40-41", Fraction(3, 2), 2, id="para 40: mean 1.5 (half) goes to the worse 2"),
        pytest.param("paras 40-41", Fraction(12, 5), 2, id="para 40: mean 2.4 rounds to 2"),
        pytest.param("paras 40-41", Fraction(5, 2), 3, id="para 40: mean 2.5 (half) goes to the worse 3"),
        pytest.param("paras 40-41", Fraction(13, 5), 3, id="para 40: mean 2.6 rounds to 3"),
        pytest.param("paras 40-41", Fraction(7, 2), 4, id="para 40: mean 3.5 (half) goes to the worse 4"),
        pytest.param("paras 40-41", Fraction(4), 4, id="para 40: mean 4 is 4"),
    ],
)
def test_the_overall_score_is_the_mean_rounded_halves_to_the_worse(
    source: str, mean: Fraction, expected: int
) -> None:
    assert engine_finance.round_half_to_worse(mean) == expected
    assert source in PACK.finance_score.source  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("source", "scores", "mean", "overall"),
    [
        pytest.param("paras 40-41", (1, 1, 1, 1, 1), 1.0, 1, id="para 40: all 1 is 1"),
        pytest.param("paras 40-41", (1, 1, 2, 2, 2), 1.6, 2, id="para 40: mean 1.6 is 2"),
        pytest.param("paras 40-41", (2, 2, 2, 3, 3), 2.4, 2, id="para 40: mean 2.4 is 2"),
        pytest.param("paras 40-41", (2, 2, 3, 3, 3), 2.6, 3, id="para 40: mean 2.6 is 3"),
        pytest.param("paras 40-41", (3, 3, 3, 3, 3), 3.0, 3, id="para 40: all 3 is 3"),
        pytest.param("paras 40-41", (3, 3, 3, 3, 4), 3.2, 3, id="para 40: mean 3.2 is 3"),
        pytest.param("paras 40-41", (4, 4, 4, 4, 4), 4.0, 4, id="para 40: all 4 is 4"),
    ],
)
def test_the_overall_score_averages_the_five_metrics(
    source: str, scores: tuple[int, ...], mean: float, overall: int
) -> None:
    facts = ProviderFacts(control_total_agreed=True, special_measures="none")
    result = evaluate(scenario(finance_month(scores), facts)).finance_score
    assert result is not None
    assert result.metrics == dict(zip(FINANCE_METRICS, scores, strict=True))
    assert result.mean == pytest.approx(mean)
    assert result.overall == overall
    assert source in PACK.finance_score.source  # type: ignore[union-attr]


def test_a_real_half_rounds_to_the_worse_score_with_an_even_number_of_metrics() -> None:
    """Source: para 40. Five metrics never average to a half, so a four-metric pack shows the rule."""
    rule = PACK.finance_score
    assert rule is not None
    four = {m: b for m, b in rule.metrics.items() if m != "fin_agency_spend_vs_cap_pct"}
    pack = PACK.model_copy(update={"finance_score": rule.model_copy(update={"metrics": four})})
    values = {
        "fin_capital_service_capacity": 2.0,  # 2
        "fin_liquidity_days": -3.0,  # 2
        "fin_ie_margin_pct": -0.5,  # 3
        "fin_distance_from_plan_pct": -1.5,  # 3
    }
    result = engine_finance.finance_score(values, 2026 * 12 + 9, pack, ProviderFacts())
    assert result.mean == 2.5
    assert result.overall == 3
    assert result.period == LATEST


def test_the_finance_score_is_for_the_latest_month_with_all_five_metrics() -> None:
    """Source: para 40 (monthly finance score): a month missing a metric is not scored."""
    observations = [
        *finance_month((3, 3, 3, 3, 3), "2026-08"),
        *finance_month((2, 2, 2, 2, 2), "2026-09"),
        *[o for o in finance_month((1, 1, 1, 1, 1), "2026-10") if o.metric != "fin_liquidity_days"],
    ]
    result = evaluate(scenario(observations)).finance_score
    assert result is not None
    assert (result.period, result.overall) == ("2026-09", 2)


def test_no_finance_score_without_a_complete_month() -> None:
    """Source: para 40: the score needs all five metrics."""
    observations = finance_month((1, 1, 1, 1, 1))[:4]
    assert evaluate(scenario(observations)).finance_score is None


def test_a_finance_month_after_as_of_is_not_scored() -> None:
    """Source: engine (a scenario replays as of its date)."""
    observations = [*finance_month((1, 1, 1, 1, 1), "2026-10"), *finance_month((4, 4, 4, 4, 4), "2026-12")]
    result = evaluate(scenario(observations)).finance_score
    assert result is not None
    assert (result.period, result.overall) == ("2026-10", 1)


# --- finance score moderation (para 41) ----------------------------------------------------------

MODERATION_CASES = [
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 4),
        ProviderFacts(control_total_agreed=True),
        3,
        [("any_metric_scored_4", 2, 3)],
        id="para 41: a 4 on any metric makes 2 (mean 1.6) at least 3",
    ),
    pytest.param(
        "para 41",
        (2, 2, 2, 2, 4),
        ProviderFacts(control_total_agreed=True),
        3,
        [("any_metric_scored_4", 2, 3)],
        id="para 41: a 4 on any metric makes 2 (mean 2.4) at least 3",
    ),
    pytest.param(
        "para 41",
        (3, 3, 3, 3, 4),
        ProviderFacts(control_total_agreed=True),
        3,
        [],
        id="para 41: a 4 on a metric when already 3: unchanged, no moderation reported",
    ),
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 1),
        ProviderFacts(control_total_agreed=False),
        2,
        [("no_control_total", 1, 2)],
        id="para 41: no agreed control total makes 1 at least 2",
    ),
    pytest.param(
        "para 41",
        (3, 3, 3, 3, 3),
        ProviderFacts(control_total_agreed=False),
        3,
        [],
        id="para 41: no agreed control total leaves 3",
    ),
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 1),
        ProviderFacts(control_total_agreed=None),
        1,
        [],
        id="engine: control total not given is not moderated",
    ),
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 1),
        ProviderFacts(special_measures="finance"),
        4,
        [("financial_special_measures", 1, 4)],
        id="para 41: special measures for financial reasons makes 1 a 4",
    ),
    pytest.param(
        "para 41",
        (2, 2, 2, 2, 2),
        ProviderFacts(special_measures="both"),
        4,
        [("financial_special_measures", 2, 4)],
        id="para 41: special measures for finance and quality makes 2 a 4",
    ),
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 1),
        ProviderFacts(special_measures="quality"),
        1,
        [],
        id="para 41: special measures for quality only does not moderate",
    ),
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 4),
        ProviderFacts(control_total_agreed=False),
        3,
        [("any_metric_scored_4", 2, 3)],
        id="para 41: a 4 and no control total: at least 3, the control total adds nothing",
    ),
    pytest.param(
        "para 41",
        (1, 1, 1, 1, 4),
        ProviderFacts(control_total_agreed=False, special_measures="finance"),
        4,
        [("any_metric_scored_4", 2, 3), ("financial_special_measures", 3, 4)],
        id="para 41: a 4, no control total and financial special measures: 4, each step reported",
    ),
]


@pytest.mark.parametrize(("source", "scores", "facts", "overall", "moderations"), MODERATION_CASES)
def test_the_overall_score_is_moderated_down_and_the_moderation_reported(
    source: str,
    scores: tuple[int, ...],
    facts: ProviderFacts,
    overall: int,
    moderations: list[tuple[str, int, int]],
) -> None:
    result = evaluate(scenario(finance_month(scores), facts)).finance_score
    assert result is not None
    assert result.overall == overall
    assert [(m.rule, m.before, m.after) for m in result.moderations] == moderations
    assert all(m.source == source and m.description for m in result.moderations)


# --- triggers: quality of care (para 37) ---------------------------------------------------------

CQC_QUESTIONS = ("overall", "safe", "effective", "caring", "responsive")

CQC_RATING_CASES = [
    *[
        pytest.param(
            "para 37",
            cqc(**{q: r}),
            True,
            id=f"para 37 trigger 1: {q} {r.value} raises",
        )
        for q in CQC_QUESTIONS
        for r in (INADEQUATE, RI)
    ],
    *[
        pytest.param(
            "para 37",
            cqc(**dict.fromkeys(CQC_QUESTIONS, r)),
            False,
            id=f"para 37 trigger 1: all five {r.value} does not raise",
        )
        for r in (GOOD, OUTSTANDING)
    ],
    pytest.param(
        "para 37",
        cqc(**dict.fromkeys(CQC_QUESTIONS, GOOD), well_led=INADEQUATE),
        False,
        id="para 37 trigger 1: well-led alone is not a quality trigger",
    ),
    pytest.param("para 37", ProviderFacts(), False, id="para 37 trigger 1: no CQC rating, no trigger"),
]


@pytest.mark.parametrize(("source", "facts", "raised"), CQC_RATING_CASES)
def test_cqc_rating_inadequate_or_requires_improvement(
    source: str, facts: ProviderFacts, raised: bool
) -> None:
    trigger = triggered(evaluate(scenario(facts=facts)), "cqc_rating")
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.QUALITY_OF_CARE
        assert source in trigger.source


@pytest.mark.parametrize(
    ("source", "facts", "cause_for_concern"),
    [
        pytest.param("para 31", cqc(safe=INADEQUATE), True, id="para 31: inadequate is cause for concern"),
        pytest.param("para 31", cqc(overall=INADEQUATE, safe=RI), True, id="para 31: any inadequate is"),
        pytest.param("para 31", cqc(caring=RI), False, id="para 31: requires improvement is not"),
    ],
)
def test_a_cqc_inadequate_rating_is_cause_for_concern(
    source: str, facts: ProviderFacts, cause_for_concern: bool
) -> None:
    trigger = triggered(evaluate(scenario(facts=facts)), "cqc_rating")
    assert trigger is not None
    assert trigger.cause_for_concern is cause_for_concern, source


WARNING_NOTICE_CASES = [
    pytest.param(
        "para 37",
        [report("cqc_warning_notice")],
        "cqc_warning_notice:cqc_warning_notice",
        True,
        id="para 37 trigger 2: a CQC warning notice raises",
    ),
    pytest.param(
        "para 37",
        [report("fine_or_legal_action")],
        "cqc_warning_notice:fine_or_legal_action",
        True,
        id="para 37 trigger 3, Figure 2: a fine or civil or criminal action raises",
    ),
    pytest.param(
        "para 37",
        [report("cqc_warning_notice", received=date(2025, 3, 1))],
        "cqc_warning_notice:cqc_warning_notice",
        True,
        id="para 37: an unresolved notice stays raised however old",
    ),
    pytest.param(
        "para 37",
        [report("cqc_warning_notice", received=date(2026, 6, 1), resolved=date(2026, 11, 10))],
        "cqc_warning_notice:cqc_warning_notice",
        False,
        id="para 37: a notice lifted before as_of has cleared",
    ),
    pytest.param(
        "para 37",
        [report("fine_or_legal_action", received=date(2026, 6, 1), resolved=date(2026, 11, 23))],
        "cqc_warning_notice:fine_or_legal_action",
        False,
        id="para 37: an action concluded on as_of has cleared",
    ),
    pytest.param(
        "para 37",
        [report("cqc_warning_notice", received=date(2026, 6, 1), resolved=date(2026, 12, 1))],
        "cqc_warning_notice:cqc_warning_notice",
        True,
        id="para 37: a notice lifted after as_of is still raised",
    ),
    pytest.param(
        "para 37",
        [report("cqc_warning_notice", received=date(2026, 12, 1))],
        "cqc_warning_notice:cqc_warning_notice",
        False,
        id="engine: a notice received after as_of is not yet raised",
    ),
]


@pytest.mark.parametrize(("source", "reports", "key", "raised"), WARNING_NOTICE_CASES)
def test_cqc_warning_notice_fine_or_legal_action(
    source: str, reports: list[ScenarioExceptionReport], key: str, raised: bool
) -> None:
    evaluation = evaluate(scenario(reports=reports))
    trigger = triggered(evaluation, key)
    assert (trigger is not None) == raised
    # a notice raises its own trigger, never the generic exception-report trigger
    assert not any(t.code == "exception_report" for t in evaluation.triggers)
    if trigger is not None:
        assert trigger.code == "cqc_warning_notice"
        assert trigger.theme is Theme.QUALITY_OF_CARE
        assert trigger.cause_for_concern is True
        assert source in trigger.source


@pytest.mark.parametrize(
    ("source", "met", "raised"),
    [
        pytest.param("para 37", False, True, id="para 37 trigger 5: seven-day standards not met raises"),
        pytest.param("para 37", True, False, id="para 37 trigger 5: met does not raise"),
        pytest.param("para 37", None, False, id="para 37 trigger 5: not given does not raise"),
    ],
)
def test_seven_day_standards(source: str, met: bool | None, raised: bool) -> None:
    trigger = triggered(
        evaluate(scenario(facts=ProviderFacts(seven_day_standards_met=met))), "seven_day_standards"
    )
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.QUALITY_OF_CARE
        assert source in trigger.source


SPC_TRIGGER_CASES = [
    # quality_indicator_concern (para 37, trends in quality indicators)
    pytest.param(
        "para 37",
        series("q_hsmr", [*HSMR_BASE, 140.0]),
        "quality_indicator_concern:q_hsmr",
        True,
        id="para 37 trigger 4: HSMR above its upper limit (lower is better) raises",
    ),
    pytest.param(
        "para 37",
        series("q_hsmr", [*HSMR_BASE, 60.0]),
        "quality_indicator_concern:q_hsmr",
        False,
        id="para 37 trigger 4: HSMR below its lower limit is improvement, no trigger",
    ),
    pytest.param(
        "para 37",
        series("q_hsmr", [*HSMR_BASE[1:], 140.0]),
        "quality_indicator_concern:q_hsmr",
        False,
        id="para 37 trigger 4: the same jump with 11 points is not read (12-point minimum)",
    ),
    pytest.param(
        "para 37",
        series("q_staff_fft_care_pct", [*FFT_BASE, 60.0]),
        "quality_indicator_concern:q_staff_fft_care_pct",
        True,
        id="para 37 trigger 4: staff FFT below its lower limit (higher is better) raises",
    ),
    pytest.param(
        "para 37",
        series("q_staff_fft_care_pct", [*FFT_BASE, 99.0]),
        "quality_indicator_concern:q_staff_fft_care_pct",
        False,
        id="para 37 trigger 4: staff FFT above its upper limit is improvement, no trigger",
    ),
    pytest.param(
        "para 37",
        series("q_c_diff_cases", [4, 6, 4, 6, 4, 7, 7.5, 7, 7.5, 7, 7.5, 7]),
        "quality_indicator_concern:q_c_diff_cases",
        True,
        id="para 37 trigger 4: C. difficile run of 7 above the mean raises",
    ),
    pytest.param(
        "para 37",
        series("q_c_diff_cases", [7, 5, 7, 5, 7, 6.5, 6, 5.5, 5, 4.5, 4, 3.5]),
        "quality_indicator_concern:q_c_diff_cases",
        False,
        id="para 37 trigger 4: C. difficile falling for 7 months is improvement, no trigger",
    ),
    pytest.param(
        "para 37",
        series("q_complaints_rate", [5, 7, 5, 7, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5]),
        "quality_indicator_concern:q_complaints_rate",
        True,
        id="para 37 trigger 4: complaints rising for 7 months raises",
    ),
    # organisational_health_concern (paras 56, 59)
    pytest.param(
        "paras 56, 59",
        series("lead_sickness_absence_pct", [*SICKNESS_BASE, 6.0]),
        "organisational_health_concern:lead_sickness_absence_pct",
        True,
        id="para 56: sickness absence above its upper limit raises",
    ),
    pytest.param(
        "paras 56, 59",
        series("lead_sickness_absence_pct", [*SICKNESS_BASE, 2.0]),
        "organisational_health_concern:lead_sickness_absence_pct",
        False,
        id="para 56: sickness absence below its lower limit is improvement, no trigger",
    ),
    pytest.param(
        "paras 56, 59",
        series("lead_sickness_absence_pct", [*SICKNESS_BASE[1:], 6.0]),
        "organisational_health_concern:lead_sickness_absence_pct",
        False,
        id="para 56: the same jump with 11 points is not read (12-point minimum)",
    ),
    pytest.param(
        "paras 56, 59",
        series("lead_teamwork_score", [*TEAMWORK_BASE, 6.0]),
        "organisational_health_concern:lead_teamwork_score",
        True,
        id="para 59: teamwork composite below its lower limit (higher is better) raises",
    ),
    pytest.param(
        "paras 56, 59",
        series("lead_teamwork_score", [*TEAMWORK_BASE, 8.2]),
        "organisational_health_concern:lead_teamwork_score",
        False,
        id="para 59: teamwork composite above its upper limit is improvement, no trigger",
    ),
]


@pytest.mark.parametrize(("source", "observations", "key", "raised"), SPC_TRIGGER_CASES)
def test_spc_concern_on_quality_and_leadership_metrics(
    source: str, observations: list[Observation], key: str, raised: bool
) -> None:
    evaluation = evaluate(scenario(observations))
    trigger = triggered(evaluation, key)
    assert (trigger is not None) == raised, evaluation.triggers
    if trigger is not None:
        assert source in trigger.source
        assert "special-cause concern" in trigger.evidence
    assert not [t for t in evaluation.triggers if t.key != key]


def test_a_metric_without_enough_points_raises_nothing_however_extreme() -> None:
    """Source: Making Data Count (at least 12 points before any SPC signal)."""
    observations = series("q_never_events", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9])
    assert evaluate(scenario(observations)).triggers == []


FINANCE_TRIGGER_CASES = [
    pytest.param("para 46", (3, 3, 3, 3, 3), ProviderFacts(), True, id="after para 46: score 3 raises"),
    pytest.param("para 46", (4, 4, 4, 4, 4), ProviderFacts(), True, id="after para 46: score 4 raises"),
    pytest.param("para 46", (2, 2, 3, 3, 3), ProviderFacts(), True, id="after para 46: mean 2.6 (3) raises"),
    pytest.param(
        "para 46", (2, 2, 2, 3, 3), ProviderFacts(), False, id="after para 46: mean 2.4 (2) does not"
    ),
    pytest.param("para 46", (2, 2, 2, 2, 2), ProviderFacts(), False, id="after para 46: score 2 does not"),
    pytest.param("para 46", (1, 1, 1, 1, 1), ProviderFacts(), False, id="after para 46: score 1 does not"),
    pytest.param(
        "para 46", (1, 1, 1, 1, 4), ProviderFacts(), True, id="after para 46, para 41: moderated to 3 raises"
    ),
    pytest.param(
        "para 46",
        (1, 1, 1, 1, 1),
        ProviderFacts(control_total_agreed=False),
        False,
        id="after para 46, para 41: moderated to 2 does not",
    ),
    pytest.param(
        "para 46",
        (1, 1, 1, 1, 1),
        ProviderFacts(special_measures="finance"),
        True,
        id="after para 46, para 41: financial special measures (4) raises",
    ),
]


@pytest.mark.parametrize(("source", "scores", "facts", "raised"), FINANCE_TRIGGER_CASES)
def test_finance_score_of_3_or_4(
    source: str, scores: tuple[int, ...], facts: ProviderFacts, raised: bool
) -> None:
    trigger = triggered(evaluate(scenario(finance_month(scores), facts)), "finance_score")
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.FINANCE_AND_USE_OF_RESOURCES
        assert source in trigger.source


@pytest.mark.parametrize(
    ("source", "rating", "raised"),
    [
        pytest.param("paras 42-46", INADEQUATE, True, id="after para 46: UoR inadequate raises"),
        pytest.param("paras 42-46", RI, True, id="after para 46: UoR requires improvement raises"),
        pytest.param("paras 42-46", GOOD, False, id="after para 46: UoR good does not"),
        pytest.param("paras 42-46", OUTSTANDING, False, id="after para 46: UoR outstanding does not"),
        pytest.param("paras 42-46", None, False, id="after para 46: no UoR rating does not"),
    ],
)
def test_use_of_resources_rating(source: str, rating: Rating | None, raised: bool) -> None:
    trigger = triggered(
        evaluate(scenario(facts=ProviderFacts(use_of_resources=rating))), "use_of_resources_rating"
    )
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.FINANCE_AND_USE_OF_RESOURCES
        assert source in trigger.source


# --- triggers: operational performance (para 48 and the list after it) --------------------------

#: Each operational standard: (metric, a value that fails it, a value exactly at it).
STANDARDS = [
    ("op_ae_4hr_pct", 94.9, 95.0),
    ("op_rtt_18wk_pct", 91.9, 92.0),
    ("op_cancer_62d_pct", 84.9, 85.0),
    ("op_cancer_2ww_pct", 92.9, 93.0),
    ("op_diagnostics_6wk_pct", 1.1, 1.0),
    ("op_amb_cat1_mean_min", 7.1, 7.0),
    ("op_amb_cat1_p90_min", 15.1, 15.0),
    ("op_amb_cat2_mean_min", 18.1, 18.0),
    ("op_amb_cat2_p90_min", 40.1, 40.0),
    ("op_iapt_6wk_pct", 74.9, 75.0),
    ("op_eip_2wk_pct", 55.9, 56.0),
]


def test_the_table_covers_every_operational_standard() -> None:
    with_standard = {m for m, rule in PACK.metrics.items() if rule.standard is not None}
    assert {m for m, _, _ in STANDARDS} == with_standard


STANDARD_FAILED_CASES = [
    *[
        pytest.param(
            "para 48",
            series(m, [fail, fail]),
            f"operational_standard_failed:{m}",
            True,
            id=f"after para 48 trigger 1: {m} failing two consecutive months raises",
        )
        for m, fail, _ in STANDARDS
    ],
    *[
        pytest.param(
            "para 48",
            series(m, [at, at]),
            f"operational_standard_failed:{m}",
            False,
            id=f"after para 48 trigger 1: {m} exactly at the standard meets it",
        )
        for m, _, at in STANDARDS
    ],
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [96.0, 93.0]),
        "operational_standard_failed:op_ae_4hr_pct",
        False,
        id="after para 48 trigger 1: one failing month does not raise",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [93.0, 96.0]),
        "operational_standard_failed:op_ae_4hr_pct",
        False,
        id="after para 48 trigger 1: one failing month then a pass does not raise",
    ),
    pytest.param(
        "para 48",
        [*series("op_ae_4hr_pct", [93.0], end="2026-08"), *series("op_ae_4hr_pct", [93.0])],
        "operational_standard_failed:op_ae_4hr_pct",
        False,
        id="after para 48 trigger 1: two failing months with a month missing between are not consecutive",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [93.0, 92.0], end="2026-01"),
        "operational_standard_failed:op_ae_4hr_pct",
        True,
        id="after para 48 trigger 1: December and January are consecutive",
    ),
]


@pytest.mark.parametrize(("source", "observations", "key", "raised"), STANDARD_FAILED_CASES)
def test_operational_standard_failed_for_two_consecutive_months(
    source: str, observations: list[Observation], key: str, raised: bool
) -> None:
    trigger = triggered(evaluate(scenario(observations)), key)
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.OPERATIONAL_PERFORMANCE
        assert source in trigger.source


DETERIORATION_CASES = [
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*AE_BASE, 85.0]),
        True,
        id="after para 48 trigger 2: A&E fails and falls below its lower limit in one month",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*AE_BASE[1:], 85.0]),
        False,
        id="after para 48 trigger 2: the same fall with 11 points is not read (12-point minimum)",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*([99.0, 99.5] * 5), 99.0, 96.0]),
        False,
        id="after para 48 trigger 2: beyond the lower limit but still meeting 95% does not raise",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*([93.0, 97.0] * 5), 93.0, 92.0]),
        False,
        id="after para 48 trigger 2: failing but within the process limits does not raise",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*([80.0, 81.0] * 5), 80.0, 90.0]),
        False,
        id="after para 48 trigger 2: failing 95% but beyond the upper limit is improvement, no trigger",
    ),
    pytest.param(
        "para 48",
        series("op_diagnostics_6wk_pct", [*([0.5, 0.6] * 5), 0.5, 3.0]),
        True,
        id="after para 48 trigger 2: diagnostics (lower is better) above its upper limit and over 1%",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*([94.0, 98.0] * 3), 97.0, 96.5, 96.0, 95.5, 95.0, 94.5]),
        False,
        id="after para 48 trigger 2: a falling trend that fails is not a point beyond the limit",
    ),
]


@pytest.mark.parametrize(("source", "observations", "raised"), DETERIORATION_CASES)
def test_operational_deterioration_in_a_single_month(
    source: str, observations: list[Observation], raised: bool
) -> None:
    metric = observations[0].metric
    evaluation = evaluate(scenario(observations))
    trigger = triggered(evaluation, f"operational_deterioration:{metric}")
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.OPERATIONAL_PERFORMANCE
        assert source in trigger.source
        # earlier than the two-month trigger: one failing month is enough
        assert triggered(evaluation, f"operational_standard_failed:{metric}") is None


# --- triggers: leadership and improvement capability (paras 55-56) -------------------------------


@pytest.mark.parametrize(
    ("source", "facts", "raised"),
    [
        pytest.param(
            "paras 55-56", cqc(well_led=INADEQUATE), True, id="paras 55-56: well-led inadequate raises"
        ),
        pytest.param(
            "paras 55-56", cqc(well_led=RI), True, id="paras 55-56: well-led requires improvement raises"
        ),
        pytest.param("paras 55-56", cqc(well_led=GOOD), False, id="paras 55-56: well-led good does not"),
        pytest.param(
            "paras 55-56", cqc(well_led=OUTSTANDING), False, id="paras 55-56: well-led outstanding does not"
        ),
        pytest.param(
            "paras 55-56",
            cqc(overall=INADEQUATE, well_led=GOOD),
            False,
            id="paras 55-56: another question inadequate is not a well-led trigger",
        ),
    ],
)
def test_well_led_rating(source: str, facts: ProviderFacts, raised: bool) -> None:
    trigger = triggered(evaluate(scenario(facts=facts)), "well_led_rating")
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.theme is Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY
        assert source in trigger.source
        assert trigger.cause_for_concern is False


# --- triggers: exception reports (para 21, Figure 2) and material concerns -----------------------

QUALITY, FINANCE, OPERATIONAL, STRATEGIC, LEADERSHIP = (
    Theme.QUALITY_OF_CARE,
    Theme.FINANCE_AND_USE_OF_RESOURCES,
    Theme.OPERATIONAL_PERFORMANCE,
    Theme.STRATEGIC_CHANGE,
    Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY,
)

#: category -> (source, trigger code, theme), read from para 21 and Figure 2.
EXCEPTION_REPORTS: dict[str, tuple[str, str, Theme]] = {
    "unplanned_income_reduction_or_cost_increase": ("para 21", "exception_report", FINANCE),
    "reporting_non_compliance": ("para 21", "exception_report", LEADERSHIP),
    "qualified_audit_risk": ("para 21", "exception_report", FINANCE),
    "enforcement_notice_other_body": ("para 21", "exception_report", LEADERSHIP),
    "material_reputational_issue": ("para 21", "exception_report", LEADERSHIP),
    "adverse_scrutiny_report": ("para 21", "exception_report", QUALITY),
    "transaction_or_subsidiary_change": ("para 21", "exception_report", FINANCE),
    "novel_or_contentious_contract": ("para 21", "exception_report", FINANCE),
    "cqc_inspection_result": ("Figure 2", "exception_report", QUALITY),
    "cqc_warning_notice": ("Figure 2", "cqc_warning_notice", QUALITY),
    "fine_or_legal_action": ("Figure 2", "cqc_warning_notice", QUALITY),
    "operational_delivery_failure": ("Figure 2", "exception_report", OPERATIONAL),
    "strategic_delivery_failure": ("Figure 2", "exception_report", STRATEGIC),
    "well_led_review_findings": ("Figure 2", "exception_report", LEADERSHIP),
    "third_party_governance_concern": ("Figure 2", "exception_report", LEADERSHIP),
}


def test_every_exception_report_category_is_mapped() -> None:
    """Source: para 21, Figure 2: no category can arrive without a theme to raise a trigger under."""
    assert set(EXCEPTION_REPORTS) == {c.value for c in ExceptionReportCategory}
    assert set(PACK.exception_reports) == set(ExceptionReportCategory)


@pytest.mark.parametrize(
    ("source", "category", "code", "theme"),
    [
        pytest.param(
            source, category, code, theme, id=f"{source}: {category} raises {code} under {theme.value}"
        )
        for category, (source, code, theme) in EXCEPTION_REPORTS.items()
    ],
)
def test_each_exception_report_raises_its_trigger_under_its_theme(
    source: str, category: str, code: str, theme: Theme
) -> None:
    evaluation = evaluate(scenario(reports=[report(category)]))
    assert [(t.code, t.theme, t.key) for t in evaluation.triggers] == [(code, theme, f"{code}:{category}")]
    assert source in evaluation.triggers[0].source
    assert evaluation.support_needs[theme] is True


def test_reports_of_the_same_category_raise_one_trigger_with_both_in_evidence() -> None:
    """Source: para 21 (engine: one trigger per category, keyed so a service can track it)."""
    reports = [
        report("qualified_audit_risk", received=date(2026, 10, 5)),
        report("qualified_audit_risk", received=date(2026, 11, 2)),
    ]
    evaluation = evaluate(scenario(reports=reports))
    assert [t.key for t in evaluation.triggers] == ["exception_report:qualified_audit_risk"]
    assert "2026-10-05" in evaluation.triggers[0].evidence
    assert "2026-11-02" in evaluation.triggers[0].evidence


@pytest.mark.parametrize(
    ("source", "theme"),
    [
        pytest.param("para 37", QUALITY, id="para 37: a material concern about quality of care raises"),
        pytest.param("para 46", FINANCE, id="after para 46: a material concern about finances raises"),
        pytest.param(
            "para 48",
            OPERATIONAL,
            id="after para 48: a material concern about operational performance raises",
        ),
        pytest.param("para 37", STRATEGIC, id="para 37 (other material concerns): strategic change raises"),
        pytest.param("para 56", LEADERSHIP, id="para 56: third-party concerns about leadership raise"),
    ],
)
def test_a_material_concern_raises_under_the_theme_named(source: str, theme: Theme) -> None:
    evaluation = evaluate(scenario(concerns=[concern(theme)]))
    assert [(t.code, t.theme, t.key) for t in evaluation.triggers] == [
        ("material_concern", theme, f"material_concern:{theme.value}")
    ]
    assert source in evaluation.triggers[0].source
    assert evaluation.support_needs == {t: t is theme for t in Theme}


def test_a_material_concern_raised_after_as_of_is_not_yet_raised() -> None:
    """Source: engine (a scenario replays as of its date)."""
    assert evaluate(scenario(concerns=[concern(QUALITY, raised=date(2026, 12, 1))])).triggers == []


# --- clearing: a trigger clears when its condition has not held for two consecutive periods ------

#: Condition held last month but not this month: still raised. Not held for two months: cleared.
CLEARING_CASES = [
    pytest.param(
        "para 46",
        finance_months((3, 3, 3, 3, 3), (2, 2, 2, 2, 2)),
        "finance_score",
        True,
        id="after para 46: score 3 last month, 2 this month: still raised",
    ),
    pytest.param(
        "para 46",
        finance_months((3, 3, 3, 3, 3), (2, 2, 2, 2, 2), (2, 2, 2, 2, 2)),
        "finance_score",
        False,
        id="after para 46: score 3, then 2 for two consecutive months: cleared",
    ),
    pytest.param(
        "para 46",
        finance_months((3, 3, 3, 3, 3), (2, 2, 2, 2, 2), (3, 3, 3, 3, 3)),
        "finance_score",
        True,
        id="after para 46: score back to 3 before clearing: raised",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [90.0, 90.0, 96.0]),
        "operational_standard_failed:op_ae_4hr_pct",
        True,
        id="after para 48 trigger 1: failed two months, met this month: still raised",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [90.0, 90.0, 96.0, 96.0]),
        "operational_standard_failed:op_ae_4hr_pct",
        False,
        id="after para 48 trigger 1: failed two months, then met two consecutive months: cleared",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*AE_BASE, 85.0, 96.0]),
        "operational_deterioration:op_ae_4hr_pct",
        True,
        id="after para 48 trigger 2: beyond the limit last month, back this month: still raised",
    ),
    pytest.param(
        "para 48",
        series("op_ae_4hr_pct", [*AE_BASE, 85.0, 96.0, 96.0]),
        "operational_deterioration:op_ae_4hr_pct",
        False,
        id="after para 48 trigger 2: back within limits and meeting 95% two months: cleared",
    ),
    pytest.param(
        "para 37",
        series("q_hsmr", [*HSMR_BASE, 140.0, 102.0]),
        "quality_indicator_concern:q_hsmr",
        True,
        id="para 37 trigger 4: concern last month, common cause this month: still raised",
    ),
    pytest.param(
        "para 37",
        series("q_hsmr", [*HSMR_BASE, 140.0, 102.0, 102.0]),
        "quality_indicator_concern:q_hsmr",
        False,
        id="para 37 trigger 4: common cause for two consecutive months: cleared",
    ),
    pytest.param(
        "paras 56, 59",
        series("lead_teamwork_score", [*TEAMWORK_BASE, 6.0, 7.1]),
        "organisational_health_concern:lead_teamwork_score",
        True,
        id="para 59: concern last month, common cause this month: still raised",
    ),
    pytest.param(
        "paras 56, 59",
        series("lead_teamwork_score", [*TEAMWORK_BASE, 6.0, 7.1, 7.1]),
        "organisational_health_concern:lead_teamwork_score",
        False,
        id="para 59: common cause for two consecutive months: cleared",
    ),
]


@pytest.mark.parametrize(("source", "observations", "key", "raised"), CLEARING_CASES)
def test_a_metric_trigger_clears_after_two_consecutive_months_without_its_condition(
    source: str, observations: list[Observation], key: str, raised: bool
) -> None:
    trigger = triggered(evaluate(scenario(observations)), key)
    assert (trigger is not None) == raised
    if trigger is not None:
        assert source in trigger.source


def test_a_still_raised_spc_trigger_shows_the_month_its_condition_last_held() -> None:
    """Source: para 37 (trend in a quality indicator); the evidence is the month of the concern."""
    trigger = triggered(
        evaluate(scenario(series("q_hsmr", [*HSMR_BASE, 140.0, 102.0]))), "quality_indicator_concern:q_hsmr"
    )
    assert trigger is not None
    assert "140" in trigger.evidence
    assert "2026-09" in trigger.evidence


EVENT_CLEARING_CASES = [
    pytest.param(
        "para 21",
        scenario(reports=[report("qualified_audit_risk", received=date(2026, 10, 28))]),
        "exception_report:qualified_audit_risk",
        True,
        id="para 21: reported last month, nothing this month: still raised",
    ),
    pytest.param(
        "para 21",
        scenario(reports=[report("qualified_audit_risk", received=date(2026, 9, 30))]),
        "exception_report:qualified_audit_risk",
        False,
        id="para 21: nothing for two consecutive months since: cleared",
    ),
    pytest.param(
        "para 21",
        scenario(
            reports=[
                report("qualified_audit_risk", received=date(2026, 8, 1)),
                report("qualified_audit_risk", received=date(2026, 10, 1)),
            ]
        ),
        "exception_report:qualified_audit_risk",
        True,
        id="para 21: a further report of the kind keeps it raised",
    ),
    pytest.param(
        "para 37",
        scenario(concerns=[concern(QUALITY, raised=date(2026, 10, 1))]),
        "material_concern:quality_of_care",
        True,
        id="para 37: material concern last month: still raised",
    ),
    pytest.param(
        "para 37",
        scenario(concerns=[concern(QUALITY, raised=date(2026, 9, 30))]),
        "material_concern:quality_of_care",
        False,
        id="para 37: no material concern for two consecutive months: cleared",
    ),
    pytest.param(
        "para 37",
        scenario(facts=cqc(safe=GOOD, overall=GOOD)),
        "cqc_rating",
        False,
        id="para 37 trigger 1: re-rated good: cleared at once (follows the fact)",
    ),
    pytest.param(
        "paras 42-46",
        scenario(facts=ProviderFacts(use_of_resources=GOOD)),
        "use_of_resources_rating",
        False,
        id="after para 46: UoR re-rated good: cleared at once (follows the fact)",
    ),
    pytest.param(
        "para 37",
        scenario(
            reports=[report("cqc_warning_notice", received=date(2026, 11, 1), resolved=date(2026, 11, 20))]
        ),
        "cqc_warning_notice:cqc_warning_notice",
        False,
        id="para 37: notice lifted this month: cleared at once (follows the fact)",
    ),
]


@pytest.mark.parametrize(("source", "case", "key", "raised"), EVENT_CLEARING_CASES)
def test_event_and_fact_triggers_clear(source: str, case: Scenario, key: str, raised: bool) -> None:
    trigger = triggered(evaluate(case), key)
    assert (trigger is not None) == raised
    if trigger is not None:
        assert source in trigger.source


# --- SPC within the engine: 12-point minimum and the concern direction only ----------------------

MINIMUM_POINTS_CASES = [
    pytest.param(
        "Making Data Count", "q_hsmr", HSMR_BASE, 140.0, "quality_indicator_concern", id="MDC: q_hsmr"
    ),
    pytest.param(
        "Making Data Count",
        "lead_sickness_absence_pct",
        SICKNESS_BASE,
        6.0,
        "organisational_health_concern",
        id="MDC: lead_sickness_absence_pct",
    ),
    pytest.param(
        "Making Data Count",
        "op_ae_4hr_pct",
        AE_BASE,
        85.0,
        "operational_deterioration",
        id="MDC: op_ae_4hr_pct",
    ),
]


@pytest.mark.parametrize(("source", "metric", "base", "jump", "code"), MINIMUM_POINTS_CASES)
def test_no_spc_trigger_before_12_points_then_one_at_12(
    source: str, metric: str, base: list[float], jump: float, code: str
) -> None:
    assert len(base) == 11 and PACK.spc.minimum_points == 12
    assert "Making Data Count" in PACK.spc.source, source
    eleven = evaluate(scenario(series(metric, [*base[1:], jump])))
    twelve = evaluate(scenario(series(metric, [*base, jump])))
    assert triggered(eleven, f"{code}:{metric}") is None
    assert triggered(twelve, f"{code}:{metric}") is not None


#: Each SPC-watched metric with its concern direction: +1 when higher is worse, -1 when lower is.
SPC_DIRECTIONS = [
    ("q_never_events", +1, "quality_indicator_concern"),
    ("q_hsmr", +1, "quality_indicator_concern"),
    ("q_c_diff_cases", +1, "quality_indicator_concern"),
    ("q_mrsa_cases", +1, "quality_indicator_concern"),
    ("q_complaints_rate", +1, "quality_indicator_concern"),
    ("q_staff_fft_care_pct", -1, "quality_indicator_concern"),
    ("lead_sickness_absence_pct", +1, "organisational_health_concern"),
    ("lead_staff_turnover_pct", +1, "organisational_health_concern"),
    ("lead_exec_vacancy_pct", +1, "organisational_health_concern"),
    ("lead_bullying_harassment_pct", +1, "organisational_health_concern"),
    ("lead_teamwork_score", -1, "organisational_health_concern"),
    ("lead_inclusion_score", -1, "organisational_health_concern"),
]


@pytest.mark.parametrize(
    ("source", "metric", "worse", "code", "shift", "raised"),
    [
        pytest.param(
            "para 37" if code.startswith("quality") else "paras 56, 59",
            metric,
            worse,
            code,
            shift,
            shift == worse,
            id=f"{'para 37' if code.startswith('quality') else 'paras 56, 59'}: {metric} "
            f"{'up' if shift > 0 else 'down'} {'raises' if shift == worse else 'is improvement'}",
        )
        for metric, worse, code in SPC_DIRECTIONS
        for shift in (+1, -1)
    ],
)
def test_spc_triggers_read_the_concern_direction_only(
    source: str, metric: str, worse: int, code: str, shift: int, raised: bool
) -> None:
    # 11 points alternating 10 and 11 (percentages and counts alike), then a jump of 5 either way
    values = [*([10.0, 11.0] * 5), 10.0, 10.0 + 5 * shift]
    trigger = triggered(evaluate(scenario(series(metric, values))), f"{code}:{metric}")
    assert (trigger is not None) == raised
    if trigger is not None:
        assert trigger.source.startswith(source.split(",")[0])


def test_the_spc_metrics_table_covers_every_watched_quality_and_leadership_metric() -> None:
    watched = {
        m
        for m, rule in PACK.metrics.items()
        if rule.spc and rule.theme in (Theme.QUALITY_OF_CARE, Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY)
    }
    assert {m for m, _, _ in SPC_DIRECTIONS} == watched


def test_spc_limits_never_look_ahead_past_as_of() -> None:
    """Source: Making Data Count (limits from the points up to the one read); engine (as_of replays)."""
    observations = series("q_hsmr", [*HSMR_BASE, 140.0, *([140.0] * 6)], end="2027-04")
    as_of_spike = scenario(observations, as_of=date(2026, 10, 31))
    trigger = triggered(evaluate(as_of_spike), "quality_indicator_concern:q_hsmr")
    assert trigger is not None
    assert "limits 85.65 to 124.35" in trigger.evidence  # 12 points: 105 ± 2.66 x 80/11


# --- segments (Table 2) --------------------------------------------------------------------------

NEED = ProviderFacts(seven_day_standards_met=False)  # one trigger, quality of care

SEGMENT_CASES = [
    pytest.param("Table 2 (segment 1)", ProviderFacts(), 1, id="Table 2: no support need is segment 1"),
    pytest.param(
        "Table 2 (segment 1)",
        ProviderFacts(licence="breach"),
        1,
        id="Table 2: a licence breach without a support need is segment 1",
    ),
    pytest.param(
        "Table 2 (segment 2)",
        NEED.model_copy(update={"licence": "compliant"}),
        2,
        id="Table 2: need and licence compliant is segment 2",
    ),
    pytest.param(
        "Table 2 (segment 2)",
        NEED,
        2,
        id="Table 2 (engine): need and licence not given is treated as compliant, segment 2",
    ),
    pytest.param(
        "Table 2 (segment 3)",
        NEED.model_copy(update={"licence": "suspected_breach"}),
        3,
        id="Table 2: need and suspected breach is segment 3",
    ),
    pytest.param(
        "Table 2 (segment 3)",
        NEED.model_copy(update={"licence": "breach"}),
        3,
        id="Table 2: need and actual breach is segment 3",
    ),
    pytest.param(
        "Table 2 (segment 3)",
        NEED.model_copy(update={"licence": "breach", "special_measures": "none"}),
        3,
        id="Table 2: need, breach, special measures none is segment 3",
    ),
    *[
        pytest.param(
            "Table 2 (segment 4)",
            ProviderFacts(special_measures=kind, licence="breach", seven_day_standards_met=False),
            4,
            id=f"Table 2: special measures ({kind}) is segment 4",
        )
        for kind in ("quality", "finance", "both")
    ],
    pytest.param(
        "Table 2 (segment 4)",
        ProviderFacts(special_measures="quality"),
        4,
        id="Table 2: special measures is segment 4 even with no trigger and no breach given",
    ),
]


@pytest.mark.parametrize(("source", "facts", "segment"), SEGMENT_CASES)
def test_segment_from_table_2(source: str, facts: ProviderFacts, segment: int) -> None:
    evaluation = evaluate(scenario(facts=facts))
    assert evaluation.proposed_segment == segment
    assert (
        evaluation.segment_name
        == {
            1: "Maximum autonomy",
            2: "Targeted support",
            3: "Mandated support",
            4: "Special measures",
        }[segment]
    )
    assert source in evaluation.rationale[0]
    assert any("para 27" in line for line in evaluation.rationale)  # a proposal: the region decides


def test_support_needs_are_the_themes_with_a_trigger() -> None:
    """Source: para 24-25, Table 2: support needs by theme."""
    evaluation = evaluate(
        scenario(
            series("op_ae_4hr_pct", [90.0, 90.0]),
            facts=ProviderFacts(use_of_resources=RI),
        )
    )
    assert evaluation.support_needs == {
        QUALITY: False,
        FINANCE: True,
        OPERATIONAL: True,
        STRATEGIC: False,
        LEADERSHIP: False,
    }


# --- timing: earned autonomy for segment 1 (para 31) ---------------------------------------------

TIMING_CASES = [
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1, cqc=CqcRatings(safe=RI)), as_of=date(2026, 11, 23)),
        2,
        "next_quarterly_review",
        date(2027, 1, 1),
        "quarterly review on 2027-01-01",
        id="para 31: segment 1 with no cause for concern waits for 1 January",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1, use_of_resources=RI), as_of=date(2026, 2, 10)),
        2,
        "next_quarterly_review",
        date(2026, 4, 1),
        "quarterly review on 2026-04-01",
        id="para 31: in February the review is 1 April",
    ),
    pytest.param(
        "para 31",
        scenario(
            facts=ProviderFacts(current_segment=1, seven_day_standards_met=False), as_of=date(2026, 7, 15)
        ),
        2,
        "next_quarterly_review",
        date(2026, 10, 1),
        "quarterly review on 2026-10-01",
        id="para 31: in mid-July the review is 1 October",
    ),
    pytest.param(
        "para 31",
        scenario(
            facts=ProviderFacts(current_segment=1, cqc=CqcRatings(well_led=RI)), as_of=date(2026, 12, 31)
        ),
        2,
        "next_quarterly_review",
        date(2027, 1, 1),
        "quarterly review on 2027-01-01",
        id="para 31: on 31 December the review is the next day",
    ),
    pytest.param(
        "para 31",
        scenario(
            facts=ProviderFacts(current_segment=1, seven_day_standards_met=False), as_of=date(2026, 10, 1)
        ),
        2,
        "next_quarterly_review",
        date(2026, 10, 1),
        "is decided at today's quarterly review on 2026-10-01",
        id="para 31: on the review day (1 October) the change is decided at that day's review",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1, cqc=CqcRatings(well_led=RI)), as_of=date(2027, 1, 1)),
        2,
        "next_quarterly_review",
        date(2027, 1, 1),
        "is decided at today's quarterly review on 2027-01-01",
        id="para 31: on 1 January the change is decided at that day's review, not April's",
    ),
    pytest.param(
        "para 31",
        scenario(
            facts=ProviderFacts(current_segment=1, seven_day_standards_met=False), as_of=date(2026, 10, 2)
        ),
        2,
        "next_quarterly_review",
        date(2027, 1, 1),
        "waits for the quarterly review on 2027-01-01",
        id="para 31: the day after a review day waits for the next quarter's review",
    ),
    pytest.param(
        "para 31",
        scenario(
            facts=ProviderFacts(current_segment=1, seven_day_standards_met=False, licence="suspected_breach")
        ),
        3,
        "next_quarterly_review",
        date(2027, 1, 1),
        "quarterly review on 2027-01-01",
        id="para 31: a move to segment 3 without cause for concern also waits",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1, cqc=CqcRatings(safe=INADEQUATE))),
        2,
        "immediate",
        None,
        "cqc_rating is cause for concern",
        id="para 31: a CQC inadequate rating is cause for concern: decide now",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1), reports=[report("cqc_warning_notice")]),
        2,
        "immediate",
        None,
        "cqc_warning_notice is cause for concern",
        id="para 31: a CQC warning notice is cause for concern: decide now",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1), reports=[report("fine_or_legal_action")]),
        2,
        "immediate",
        None,
        "cqc_warning_notice is cause for concern",
        id="para 31: a fine or legal action is cause for concern: decide now",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1, special_measures="quality")),
        4,
        "immediate",
        None,
        "special measures is cause for concern",
        id="para 31: special measures is cause for concern: decide now",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=2, cqc=CqcRatings(safe=RI))),
        2,
        "immediate",
        None,
        None,
        id="para 31: earned autonomy is for segment 1 only: segment 2 is reviewed monthly",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=2)),
        1,
        "immediate",
        None,
        None,
        id="para 31: a segment 2 provider with no needs can move to 1 at once",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(cqc=CqcRatings(safe=RI))),
        2,
        "immediate",
        None,
        None,
        id="para 31 (engine): current segment not given: no earned autonomy to wait for",
    ),
    pytest.param(
        "para 31",
        scenario(facts=ProviderFacts(current_segment=1)),
        1,
        "immediate",
        None,
        None,
        id="para 31 (engine): segment 1 staying in 1: no change to wait for",
    ),
]


@pytest.mark.parametrize(("source", "case", "segment", "timing", "review_date", "says"), TIMING_CASES)
def test_decision_timing_for_segment_1_providers(
    source: str, case: Scenario, segment: int, timing: str, review_date: date | None, says: str | None
) -> None:
    evaluation = evaluate(case)
    assert evaluation.proposed_segment == segment
    assert evaluation.decision_timing == timing
    assert evaluation.review_date == review_date
    timing_lines = [line for line in evaluation.rationale if "quarterly review" in line]
    if says is None:
        assert timing_lines == []
    else:
        assert len(timing_lines) == 1
        assert says in timing_lines[0]
        assert source in timing_lines[0]


def test_next_review_is_the_first_review_day_on_or_after() -> None:
    """Source: para 31 (quarterly segmentation decisions for segment 1; months 1, 4, 7, 10)."""
    months = [1, 4, 7, 10]
    assert engine_segments.next_review(date(2026, 1, 15), months) == date(2026, 4, 1)
    assert engine_segments.next_review(date(2026, 3, 31), months) == date(2026, 4, 1)
    assert engine_segments.next_review(date(2026, 9, 30), months) == date(2026, 10, 1)
    assert engine_segments.next_review(date(2026, 10, 2), months) == date(2027, 1, 1)
    assert engine_segments.next_review(date(2026, 12, 31), months) == date(2027, 1, 1)


@pytest.mark.parametrize(
    "review_day",
    [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)],
    ids=lambda d: f"para 31: {d:%d %B}",
)
def test_on_a_review_day_the_review_is_that_day(review_day: date) -> None:
    """Para 31: a change proposed on a quarterly review day is decided at that day's review."""
    assert engine_segments.next_review(review_day, [1, 4, 7, 10]) == review_day


# --- pathway: each step says which segment the same rules would then propose -------------------

PATHWAY_CASES = [
    pytest.param(
        "Table 2",
        ProviderFacts(seven_day_standards_met=False, licence="compliant"),
        [(["seven_day_standards"], 1)],
        id="Table 2: clearing the one trigger gives segment 1",
    ),
    pytest.param(
        "Table 2",
        ProviderFacts(seven_day_standards_met=False, use_of_resources=RI, licence="compliant"),
        [
            (["seven_day_standards"], 2),
            (["use_of_resources_rating"], 2),
            (["seven_day_standards", "use_of_resources_rating"], 1),
        ],
        id="Table 2: two triggers: clearing either leaves 2, clearing both gives 1",
    ),
    pytest.param(
        "Table 2; para 26",
        ProviderFacts(seven_day_standards_met=False, licence="breach"),
        [(["seven_day_standards"], 1), ([], 2)],
        id="Table 2, para 26: need and breach: clearing the trigger gives 1, licence compliance 2",
    ),
    pytest.param(
        "Table 2",
        ProviderFacts(seven_day_standards_met=False, licence="suspected_breach", use_of_resources=RI),
        [
            (["seven_day_standards"], 3),
            (["use_of_resources_rating"], 3),
            (["seven_day_standards", "use_of_resources_rating"], 1),
            ([], 2),
        ],
        id="Table 2: two triggers and a suspected breach",
    ),
    pytest.param(
        "Table 2 (segment 4)",
        ProviderFacts(seven_day_standards_met=False, special_measures="quality", licence="breach"),
        [(["seven_day_standards"], 4), ([], 4), ([], 3)],
        id="Table 2 (segment 4): in special measures every step but leaving them stays at 4",
    ),
    pytest.param("Table 2", ProviderFacts(), [], id="Table 2: segment 1 with nothing raised has no pathway"),
]


@pytest.mark.parametrize(("source", "facts", "steps"), PATHWAY_CASES)
def test_pathway_segment_after_each_step(
    source: str, facts: ProviderFacts, steps: list[tuple[list[str], int]]
) -> None:
    evaluation = evaluate(scenario(facts=facts))
    assert [(step.clears, step.segment_after) for step in evaluation.pathway] == steps
    trigger_sources = {t.key: t.source for t in evaluation.triggers}
    for step in evaluation.pathway:
        if len(step.clears) == 1:  # clearing one trigger: that trigger's own paragraph
            assert step.source == trigger_sources[step.clears[0]]
        else:  # clearing all, licence compliance, leaving special measures: Table 2
            assert step.source.startswith("Table 2")
    assert "Table 2" in source


def test_pathway_step_says_what_clears_the_trigger() -> None:
    """Source: after para 48 trigger 1: the pack's clears_when text, with the metric and standard."""
    evaluation = evaluate(scenario(series("op_ae_4hr_pct", [90.0, 90.0])))
    (step,) = [s for s in evaluation.pathway if s.clears == ["operational_standard_failed:op_ae_4hr_pct"]]
    assert step.action.startswith("A&E within 4 hours meets its standard (≥ 95) for two consecutive months")
    assert step.segment_after == 1
