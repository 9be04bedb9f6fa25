"""The nof-2025 pack (NHS Oversight Framework 2025/26, scored approach) and the engine's scored path.

Each case names its source: "NOF 2025/26" for what the methodology manual publishes (metrics
scored 1.00-4.00, averaged into segments 1-4, the deficit override, segment 5), "chosen default"
for a value the pack chose where nothing is published (its `notes` say which), "engine" for how
``oversight_engine`` applies the pack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from oversight_engine import evaluate
from oversight_engine import segments as engine_segments
from oversight_engine.scoring import score_value

from oversight_contracts.codes import ExceptionReportCategory, Theme
from oversight_contracts.frameworks import Direction, FrameworkPack, Rating, TriggerKind, load_pack
from oversight_contracts.scenario import (
    CqcRatings,
    Evaluation,
    MaterialConcern,
    MetricScores,
    Observation,
    ProviderFacts,
    Scenario,
    ScenarioExceptionReport,
    ScenarioProvider,
)

PACK = load_pack("nof-2025")
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PROVIDER = ScenarioProvider(
    ods_code="RAL", name="Royal Free London NHS Foundation Trust", kind="acute", icbs=["QMJ"], region="Y56"
)
AS_OF = date(2026, 11, 16)
NOT_IN_DEFICIT = ProviderFacts(in_financial_deficit=False)


def _value_scoring(metric: str, score: float) -> float:
    """The value of ``metric`` that scores ``score`` on its band (linear, 1.00 best to 4.00 worst)."""
    band = PACK.metrics[metric].score
    assert band is not None
    return band.best + (score - 1) / 3 * (band.worst - band.best)


def _scenario(
    values: dict[str, float],
    facts: ProviderFacts = NOT_IN_DEFICIT,
    *,
    exception_reports: list[ScenarioExceptionReport] | None = None,
    material_concerns: list[MaterialConcern] | None = None,
) -> Scenario:
    return Scenario(
        framework="nof-2025",
        as_of=AS_OF,
        provider=PROVIDER,
        observations=[Observation(metric=m, period="2026-10", value=v) for m, v in values.items()],
        facts=facts,
        exception_reports=exception_reports or [],
        material_concerns=material_concerns or [],
    )


def _all_scoring(score: float, **overrides: float) -> dict[str, float]:
    """Every one of the 28 metrics at the value that scores ``score``, bar ``overrides``."""
    values = {metric: _value_scoring(metric, score) for metric in PACK.metrics}
    values.update(overrides)
    return values


def _position(
    mean: float, *, deficit: bool = False, facts: ProviderFacts = NOT_IN_DEFICIT
) -> engine_segments.Position:
    scores = MetricScores(metrics={"op_ae_4hr_pct": mean}, mean=mean, in_financial_deficit=deficit)
    return engine_segments.Position((), facts, scores)


# --- the pack ------------------------------------------------------------------------------------


def test_the_pack_loads_and_is_the_scored_approach() -> None:
    """Source: NOF 2025/26 (scored approach, no 2019/20 finance score); domain brief."""
    pack = load_pack("nof-2025")
    assert isinstance(pack, FrameworkPack)
    assert pack.id == "nof-2025"
    assert pack.segmentation.method == "scored"
    assert pack.finance_score is None
    assert pack.segmentation.quarterly_review is None
    scored = pack.segmentation.scored
    assert scored is not None
    assert scored.upper_bounds == (1.5, 2.5, 3.5)  # chosen default, see the pack's notes
    assert (scored.deficit_floor_segment, scored.deficit_metric) == (3, "fin_ie_margin_pct")
    assert "chosen default" in scored.source
    assert "chosen default" in pack.notes.lower()


def test_the_pack_scores_the_same_28_metrics_as_nof_2019_and_keeps_their_standards() -> None:
    """Source: chosen default (same metric ids, so the same returns evaluate under either pack)."""
    old = load_pack("nof-2019")
    assert list(PACK.metrics) == list(old.metrics)
    assert len(PACK.metrics) == 28
    for metric, rule in PACK.metrics.items():
        assert rule.score is not None, metric
        old_standard = old.metrics[metric].standard
        if old_standard is None:
            assert rule.standard is None, metric
        else:
            assert rule.standard is not None, metric
            assert (rule.standard.operator, rule.standard.threshold) == (
                old_standard.operator,
                old_standard.threshold,
            ), metric
        assert (rule.minimum, rule.maximum) == (old.metrics[metric].minimum, old.metrics[metric].maximum), (
            metric
        )
        assert (rule.theme, rule.direction, rule.unit) == (
            old.metrics[metric].theme,
            old.metrics[metric].direction,
            old.metrics[metric].unit,
        ), metric


@pytest.mark.parametrize("metric", list(PACK.metrics))
def test_every_band_runs_from_better_to_worse_and_starts_at_the_standard(metric: str) -> None:
    """Source: chosen default (best = the standard where there is one; worst is clearly failing)."""
    rule = PACK.metrics[metric]
    band = rule.score
    assert band is not None
    if rule.direction is Direction.HIGHER_IS_BETTER:
        assert band.best > band.worst
    else:
        assert band.best < band.worst
    if rule.standard is not None:
        assert band.best == rule.standard.threshold
    for bound in (band.best, band.worst):
        assert rule.out_of_bounds(bound) is None
    assert "chosen default" in rule.source  # no band is published: the source says so


def test_every_rule_names_its_source() -> None:
    """Source: the project issue (every rule names its source)."""
    sources = [
        *(t.source for t in PACK.themes.values()),
        *(m.source for m in PACK.metrics.values()),
        *(m.standard.source for m in PACK.metrics.values() if m.standard),
        *(t.source for t in PACK.triggers.values()),
        *(e.source for e in PACK.exception_reports.values()),
        *(r.source for r in PACK.segmentation.rules),
        PACK.spc.source,
    ]
    assert all(s.strip() for s in sources)


def test_segment_rules_five_first_on_intensive_support_then_one_to_four_unconditional() -> None:
    """Source: NOF 2025/26 (segments 1-4 by score; segment 5 intensive support)."""
    rules = PACK.segmentation.rules
    assert [r.segment for r in rules] == [5, 1, 2, 3, 4]
    assert rules[0].when.intensive_support is True
    assert all(r.when.model_dump(exclude_none=True) == {} for r in rules[1:])


def test_the_kept_triggers_and_the_metric_score_trigger() -> None:
    """Source: para 37, paras 55-56, para 21 (kept as alerts, chosen default); NOF 2025/26 scores."""
    triggers = PACK.triggers
    assert set(triggers) == {
        "cqc_rating",
        "cqc_warning_notice",
        "well_led_rating",
        "metric_score",
        "exception_report",
        "material_concern",
    }
    assert triggers["cqc_warning_notice"].clears_after_periods == 0
    assert triggers["metric_score"].kind is TriggerKind.METRIC_SCORE
    assert triggers["metric_score"].at_least == 3.5
    assert set(PACK.themes) == set(Theme)


# --- scoring a value ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreCase:
    source: str
    metric: str
    value: float
    score: float


SCORE_CASES = [
    ScoreCase("NOF 2025/26: 1.00 at the best (A&E at the 95% standard)", "op_ae_4hr_pct", 95, 1.0),
    ScoreCase("NOF 2025/26: 4.00 at the worst (A&E at 61%, chosen default)", "op_ae_4hr_pct", 61, 4.0),
    ScoreCase("engine: linear, midpoint 78% (2025/26 ambition) scores 2.50", "op_ae_4hr_pct", 78, 2.5),
    ScoreCase("engine: better than best is clamped to 1.00", "op_ae_4hr_pct", 99, 1.0),
    ScoreCase("engine: worse than worst is clamped to 4.00", "op_ae_4hr_pct", 40, 4.0),
    ScoreCase("NOF 2025/26: RTT 65% ambition scores 2.50 (chosen default)", "op_rtt_18wk_pct", 65, 2.5),
    ScoreCase("NOF 2025/26: cancer 62-day 75% ambition scores 2.50", "op_cancer_62d_pct", 75, 2.5),
    ScoreCase("lower is better: diagnostics at the 1% standard", "op_diagnostics_6wk_pct", 1, 1.0),
    ScoreCase("lower is better: diagnostics at 25% (worst)", "op_diagnostics_6wk_pct", 25, 4.0),
    ScoreCase("lower is better: diagnostics midpoint 13%", "op_diagnostics_6wk_pct", 13, 2.5),
    ScoreCase("lower is better: category 2 mean at the 30-minute ambition", "op_amb_cat2_mean_min", 30, 2.5),
    ScoreCase("chosen default: I&E margin 1% (2019/20 score-1 threshold)", "fin_ie_margin_pct", 1, 1.0),
    ScoreCase("chosen default: I&E margin 0% (2019/20 score-2 threshold)", "fin_ie_margin_pct", 0, 2.0),
    ScoreCase("chosen default: I&E margin -1% (2019/20 score-3 threshold)", "fin_ie_margin_pct", -1, 3.0),
    ScoreCase("chosen default: I&E margin -2% scores 4.00", "fin_ie_margin_pct", -2, 4.0),
    ScoreCase("chosen default: liquidity -7 days scores 2.00", "fin_liquidity_days", -7, 2.0),
    ScoreCase("chosen default: agency 50% over cap scores 3.00", "fin_agency_spend_vs_cap_pct", 50, 3.0),
    ScoreCase("chosen default: HSMR 110 midway between 100 and 120", "q_hsmr", 110, 2.5),
    ScoreCase(
        "chosen default: teamwork 6.7 midway on the 0-10 survey scale", "lead_teamwork_score", 6.7, 2.5
    ),
]


@pytest.mark.parametrize("case", SCORE_CASES, ids=lambda c: c.source)
def test_score_value(case: ScoreCase) -> None:
    assert score_value(case.value, PACK.metrics[case.metric]) == pytest.approx(case.score)


@pytest.mark.parametrize("metric", list(PACK.metrics))
def test_every_metric_scores_one_at_best_four_at_worst_and_two_and_a_half_midway(metric: str) -> None:
    """Source: NOF 2025/26 (each metric 1.00-4.00); engine (linear between the band's ends)."""
    rule = PACK.metrics[metric]
    band = rule.score
    assert band is not None
    assert score_value(band.best, rule) == 1.0
    assert score_value(band.worst, rule) == 4.0
    assert score_value((band.best + band.worst) / 2, rule) == pytest.approx(2.5)


# --- from the mean score to a segment ----------------------------------------------------------


@dataclass(frozen=True)
class MeanCase:
    source: str
    mean: float
    segment: int


MEAN_CASES = [
    MeanCase("NOF 2025/26: a mean of 1.00 is segment 1", 1.0, 1),
    MeanCase("chosen default: 1.50 is the top of segment 1 (bounds are inclusive)", 1.5, 1),
    MeanCase("chosen default: 1.51 is segment 2", 1.51, 2),
    MeanCase("chosen default: 2.50 is the top of segment 2", 2.5, 2),
    MeanCase("chosen default: 2.51 is segment 3", 2.51, 3),
    MeanCase("chosen default: 3.50 is the top of segment 3", 3.5, 3),
    MeanCase("chosen default: 3.51 is segment 4", 3.51, 4),
    MeanCase("NOF 2025/26: a mean of 4.00 is segment 4", 4.0, 4),
]


@pytest.mark.parametrize("case", MEAN_CASES, ids=lambda c: c.source)
def test_segment_from_the_mean_score(case: MeanCase) -> None:
    proposal = engine_segments.propose(PACK, _position(case.mean))
    assert proposal.segment == case.segment
    assert proposal.rule.segment == case.segment
    assert f"{case.mean:.2f}" in proposal.reasons[0]


@pytest.mark.parametrize(
    ("source", "score", "segment"),
    [
        ("NOF 2025/26: every metric at its best gives segment 1", 1.0, 1),
        ("chosen default: every metric at 1.50 gives segment 1", 1.5, 1),
        ("chosen default: every metric at 2.00 gives segment 2", 2.0, 2),
        ("chosen default: every metric at 3.00 gives segment 3", 3.0, 3),
        ("NOF 2025/26: every metric at its worst gives segment 4", 4.0, 4),
    ],
)
def test_segment_from_a_full_set_of_returns(source: str, score: float, segment: int) -> None:
    result = evaluate(_scenario(_all_scoring(score)))
    assert result.scores is not None
    assert len(result.scores.metrics) == 28
    assert result.scores.mean == pytest.approx(score)
    assert result.proposed_segment == segment, source


# --- the deficit floor -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeficitCase:
    source: str
    values: dict[str, float]
    facts: ProviderFacts
    in_deficit: bool
    segment: int


DEFICIT_CASES = [
    DeficitCase(
        "NOF 2025/26: deficit given as a fact holds a segment-1 score at segment 3",
        _all_scoring(1.0),
        ProviderFacts(in_financial_deficit=True),
        True,
        3,
    ),
    DeficitCase(
        "chosen default: a negative I&E margin (fact absent) holds a segment-1 score at segment 3",
        _all_scoring(1.0, fin_ie_margin_pct=-0.1),
        ProviderFacts(),
        True,
        3,
    ),
    DeficitCase(
        "NOF 2025/26: deficit holds a segment-2 score at segment 3",
        _all_scoring(2.0),
        ProviderFacts(in_financial_deficit=True),
        True,
        3,
    ),
    DeficitCase(
        "NOF 2025/26: the floor never improves a segment-4 score",
        _all_scoring(4.0),
        ProviderFacts(in_financial_deficit=True),
        True,
        4,
    ),
    DeficitCase(
        "chosen default: a margin of exactly 0% is breakeven, not deficit",
        _all_scoring(1.0, fin_ie_margin_pct=0.0),
        ProviderFacts(),
        False,
        1,
    ),
    DeficitCase(
        "engine: the fact, when given, wins over a negative margin",
        _all_scoring(1.0, fin_ie_margin_pct=-0.1),
        ProviderFacts(in_financial_deficit=False),
        False,
        1,
    ),
    DeficitCase(
        "engine: deficit with no scored metric still floors the default segment 2 at 3",
        {},
        ProviderFacts(in_financial_deficit=True),
        True,
        3,
    ),
    DeficitCase(
        "chosen default: a positive margin and no fact is not deficit",
        {"fin_ie_margin_pct": 1.5},
        ProviderFacts(),
        False,
        1,
    ),
]


@pytest.mark.parametrize("case", DEFICIT_CASES, ids=lambda c: c.source)
def test_the_deficit_floor(case: DeficitCase) -> None:
    result = evaluate(_scenario(case.values, case.facts))
    assert result.scores is not None
    assert result.scores.in_financial_deficit is case.in_deficit
    assert result.proposed_segment == case.segment
    if case.in_deficit:
        assert result.proposed_segment not in (1, 2)
    floored = any(
        line.startswith("In financial deficit: no better than segment 3") for line in result.rationale
    )
    assert floored is (case.in_deficit and case.segment == 3)


@pytest.mark.parametrize(
    ("source", "september", "october", "segment"),
    [
        ("chosen default: deficit in September, surplus in October is not deficit", -0.2, 0.5, 1),
        ("chosen default: surplus in September, deficit in October is deficit", 0.5, -0.2, 3),
    ],
)
def test_deficit_is_read_from_the_latest_margin(
    source: str, september: float, october: float, segment: int
) -> None:
    margins = [
        Observation(metric="fin_ie_margin_pct", period="2026-09", value=september),
        Observation(metric="fin_ie_margin_pct", period="2026-10", value=october),
    ]
    others = _scenario(_all_scoring(1.0)).observations
    scenario = _scenario({}, ProviderFacts()).model_copy(
        update={"observations": [o for o in others if o.metric != "fin_ie_margin_pct"] + margins}
    )
    assert evaluate(scenario).proposed_segment == segment, source


@pytest.mark.parametrize("mean", [1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 3.75, 4.0])
def test_a_provider_in_deficit_is_never_in_segment_1_or_2(mean: float) -> None:
    """Source: NOF 2025/26 (financial override: a provider in deficit is in segment 3 or below)."""
    proposal = engine_segments.propose(PACK, _position(mean, deficit=True))
    assert proposal.segment >= 3
    assert proposal.segment == max(3, engine_segments.propose(PACK, _position(mean)).segment)


# --- segment 5 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntensiveCase:
    source: str
    values: dict[str, float]
    facts: ProviderFacts
    segment: int


INTENSIVE_CASES = [
    IntensiveCase(
        "NOF 2025/26: intensive support is segment 5 whatever the score (best scores)",
        _all_scoring(1.0),
        ProviderFacts(in_financial_deficit=False, intensive_support=True),
        5,
    ),
    IntensiveCase(
        "NOF 2025/26: intensive support is segment 5 (worst scores)",
        _all_scoring(4.0),
        ProviderFacts(intensive_support=True),
        5,
    ),
    IntensiveCase(
        "NOF 2025/26: intensive support and deficit is segment 5, not the floor 3",
        _all_scoring(1.0),
        ProviderFacts(in_financial_deficit=True, intensive_support=True),
        5,
    ),
    IntensiveCase(
        "engine: intensive support with no returns at all is segment 5",
        {},
        ProviderFacts(intensive_support=True),
        5,
    ),
    IntensiveCase(
        "NOF 2025/26: not in intensive support, worst scores are segment 4",
        _all_scoring(4.0),
        ProviderFacts(intensive_support=False),
        4,
    ),
]


@pytest.mark.parametrize("case", INTENSIVE_CASES, ids=lambda c: c.source)
def test_intensive_support_gives_segment_5(case: IntensiveCase) -> None:
    result = evaluate(_scenario(case.values, case.facts))
    assert result.proposed_segment == case.segment
    if case.segment == 5:
        assert result.segment_name == "Intensive support"
        assert result.rationale[0].startswith("Segment 5 (Intensive support)")


# --- the metric-score trigger -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "score", "raised"),
    [
        ("chosen default: 3.50 is in the worst band", 3.5, True),
        ("chosen default: 4.00 is in the worst band", 4.0, True),
        ("chosen default: 3.49 is not", 3.49, False),
    ],
)
def test_the_metric_score_trigger(source: str, score: float, raised: bool) -> None:
    value = _value_scoring("op_rtt_18wk_pct", score)
    result = evaluate(_scenario(_all_scoring(1.0, op_rtt_18wk_pct=value)))
    keys = {t.key for t in result.triggers}
    assert ("metric_score:op_rtt_18wk_pct" in keys) is raised, source
    if raised:
        trigger = next(t for t in result.triggers if t.code == "metric_score")
        assert trigger.theme is Theme.OPERATIONAL_PERFORMANCE
        assert "NOF 2025/26" in trigger.source


# --- a full scenario ---------------------------------------------------------------------------


def test_a_full_scenario_gives_a_sensible_evaluation() -> None:
    """Source: NOF 2025/26 (score, mean, segment); para 37 and para 21 (alerts kept)."""
    values = _all_scoring(
        2.0,  # the other 24 metrics midway between their best and the middle of the band
        op_ae_4hr_pct=70.0,  # scores 3.21
        op_rtt_18wk_pct=40.0,  # scores 3.89: worst band
        q_never_events=3.0,  # scores 4.00: worst band
        lead_sickness_absence_pct=5.25,  # scores 2.50
    )
    facts = ProviderFacts(
        cqc=CqcRatings(overall=Rating.REQUIRES_IMPROVEMENT, safe=Rating.INADEQUATE, well_led=Rating.GOOD),
        licence="compliant",
        special_measures="none",
        current_segment=2,
        in_financial_deficit=False,
    )
    scenario = _scenario(
        values,
        facts,
        exception_reports=[
            ScenarioExceptionReport(
                category=ExceptionReportCategory.CQC_WARNING_NOTICE,
                received=date(2026, 10, 20),
                summary="Section 29A notice",
            ),
            ScenarioExceptionReport(
                category=ExceptionReportCategory.STRATEGIC_DELIVERY_FAILURE,
                received=date(2026, 11, 2),
                summary="EPR delayed",
            ),
        ],
        material_concerns=[
            MaterialConcern(theme=Theme.QUALITY_OF_CARE, raised=date(2026, 11, 1), summary="Coroner letter")
        ],
    )
    result = evaluate(scenario)
    Evaluation.model_validate_json(result.model_dump_json())  # round-trips through the schema model

    assert result.framework == "nof-2025"
    assert result.finance_score is None
    assert result.scores is not None
    scores = result.scores
    assert len(scores.metrics) == 28
    assert scores.metrics["op_ae_4hr_pct"] == pytest.approx(3.21)
    assert scores.metrics["op_rtt_18wk_pct"] == pytest.approx(3.89)
    assert scores.metrics["q_never_events"] == 4.0
    assert scores.metrics["lead_sickness_absence_pct"] == 2.5
    expected_mean = round((24 * 2.0 + 3.21 + 3.89 + 4.0 + 2.5) / 28, 2)
    assert scores.mean == pytest.approx(expected_mean)  # 2.20
    assert result.proposed_segment == 2  # from the mean; the alerts do not move a scored segment
    assert result.segment_name == "Some specific challenges"
    assert result.decision_timing == "immediate"

    keys = {t.key for t in result.triggers}
    assert keys == {
        "cqc_rating",
        "cqc_warning_notice:cqc_warning_notice",
        "metric_score:op_rtt_18wk_pct",
        "metric_score:q_never_events",
        "exception_report:strategic_delivery_failure",
        "material_concern:quality_of_care",
    }
    assert result.support_needs == {
        Theme.QUALITY_OF_CARE: True,
        Theme.FINANCE_AND_USE_OF_RESOURCES: False,
        Theme.OPERATIONAL_PERFORMANCE: True,
        Theme.STRATEGIC_CHANGE: True,
        Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY: False,
    }
    assert next(t for t in result.triggers if t.code == "cqc_rating").cause_for_concern  # inadequate
    assert result.rationale[0].startswith(
        f"Mean metric score {expected_mean:.2f} over 28 metrics gives segment 2"
    )
    assert all(step.segment_after == 2 for step in result.pathway)


def test_a_full_scenario_in_deficit_with_poor_scores_is_segment_4() -> None:
    """Source: NOF 2025/26 (mean above the segment 3 band; the floor never improves a segment)."""
    result = evaluate(_scenario(_all_scoring(3.75), ProviderFacts()))
    assert result.scores is not None
    assert result.scores.in_financial_deficit  # margin scores 3.75: -1.75%
    assert result.proposed_segment == 4
    assert {t.code for t in result.triggers} == {"metric_score"}
    assert len(result.triggers) == 28


def test_the_example_deficit_scenario() -> None:
    """Source: NOF 2025/26 (a segment-1 mean held at segment 3 by a deficit); tests/scenarios."""
    document = json.loads((SCENARIOS / "nof2025_deficit.json").read_text())
    result = evaluate(Scenario.model_validate(document))
    assert result.framework == "nof-2025"
    assert result.scores is not None
    assert result.scores.mean is not None and result.scores.mean <= 1.5
    assert result.scores.in_financial_deficit
    assert result.proposed_segment == 3
    assert result.rationale[1].startswith("In financial deficit: no better than segment 3")


def test_the_nof_2019_example_evaluates_under_nof_2025() -> None:
    """Source: chosen default (same metric ids, so one set of returns, either pack)."""
    document = json.loads((SCENARIOS / "rj1_ae_failing.json").read_text())
    document["framework"] = "nof-2025"
    result = evaluate(Scenario.model_validate(document))
    assert result.scores is not None
    assert set(result.scores.metrics) == {
        "fin_capital_service_capacity",
        "fin_liquidity_days",
        "fin_ie_margin_pct",
        "fin_distance_from_plan_pct",
        "fin_agency_spend_vs_cap_pct",
        "op_ae_4hr_pct",
    }
    assert result.scores.in_financial_deficit  # I&E margin -0.5%
    assert result.proposed_segment == 3
