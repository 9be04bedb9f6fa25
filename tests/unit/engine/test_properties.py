"""Properties of the nof-2019 finance score (paras 40-41) and segment rules (Table 2, para 31),
and of any evaluation whatever the size of a metric's values.

Hypothesis draws finance returns, facts and triggers; each property is a sentence of the
framework that must hold for every draw, not only for the worked cases in test_rules_nof2019.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from oversight_engine import evaluate
from oversight_engine import finance as engine_finance
from oversight_engine import segments as engine_segments
from oversight_engine.periods import period_of

from oversight_contracts.codes import ExceptionReportCategory, Theme
from oversight_contracts.frameworks import Direction, Rating, load_pack
from oversight_contracts.scenario import (
    CqcRatings,
    Evaluation,
    FinanceScore,
    Observation,
    ProviderFacts,
    Scenario,
    ScenarioExceptionReport,
    ScenarioProvider,
    Trigger,
)

PACK = load_pack("nof-2019")
FINANCE = PACK.finance_score
assert FINANCE is not None
METRICS = list(FINANCE.metrics)
MONTH = 2026 * 12 + 9  # 2026-10
PROVIDER = ScenarioProvider(
    ods_code="ZZ9", name="Example Acute NHS Trust (fictional)", kind="acute", icbs=["QKK"], region="Y56"
)
NEUTRAL = ProviderFacts(control_total_agreed=True, special_measures="none")

# --- strategies ---------------------------------------------------------------------------------

#: Ranges wide enough to cover every band of every metric, both sides of each threshold.
RANGES = {
    "fin_capital_service_capacity": (-3.0, 6.0),
    "fin_liquidity_days": (-40.0, 30.0),
    "fin_ie_margin_pct": (-6.0, 6.0),
    "fin_distance_from_plan_pct": (-6.0, 4.0),
    "fin_agency_spend_vs_cap_pct": (-30.0, 120.0),
}


def metric_value(metric: str) -> st.SearchStrategy[float]:
    low, high = RANGES[metric]
    thresholds = [float(t) for t in FINANCE.metrics[metric].thresholds]  # type: ignore[union-attr]
    return st.one_of(st.sampled_from(thresholds), st.floats(low, high, allow_nan=False))


finance_values = st.fixed_dictionaries({m: metric_value(m) for m in METRICS})
special_measures = st.sampled_from([None, "none", "quality", "finance", "both"])
licences = st.sampled_from([None, "compliant", "suspected_breach", "breach"])
finance_facts = st.builds(
    ProviderFacts,
    control_total_agreed=st.sampled_from([None, True, False]),
    special_measures=special_measures,
)


def score(values: dict[str, float], facts: ProviderFacts) -> FinanceScore:
    return engine_finance.finance_score(values, MONTH, PACK, facts)


def unmoderated(result: FinanceScore) -> int:
    return result.moderations[0].before if result.moderations else result.overall


def better(metric: str, value: float, by: float) -> float:
    return value + by if PACK.metrics[metric].direction is Direction.HIGHER_IS_BETTER else value - by


# --- finance score (paras 40-41) ----------------------------------------------------------------


@given(values=finance_values, facts=finance_facts, metric=st.sampled_from(METRICS), by=st.floats(0, 50))
def test_improving_a_metric_never_worsens_its_score_or_the_overall(
    values: dict[str, float], facts: ProviderFacts, metric: str, by: float
) -> None:
    """Para 40: 1 is best; a better value never scores worse, on the metric or overall."""
    before = score(values, facts)
    after = score({**values, metric: better(metric, values[metric], by)}, facts)
    assert after.metrics[metric] <= before.metrics[metric]
    assert after.overall <= before.overall
    assert all(after.metrics[m] == before.metrics[m] for m in METRICS if m != metric)


@given(values=finance_values, facts=finance_facts)
def test_before_moderation_the_overall_is_the_rounded_mean_between_the_lowest_and_highest_score(
    values: dict[str, float], facts: ProviderFacts
) -> None:
    """Para 40: averaging the five scores; halves go to the worse score."""
    result = score(values, facts)
    scores = list(result.metrics.values())
    assert all(s in (1, 2, 3, 4) for s in scores)
    mean = Fraction(sum(scores), len(scores))
    assert result.mean == float(mean)
    assert unmoderated(result) == int(mean + Fraction(1, 2))  # floor(mean + 1/2): halves up
    assert min(scores) <= unmoderated(result) <= max(scores)


@given(values=finance_values, facts=finance_facts)
def test_moderation_never_improves_the_score(values: dict[str, float], facts: ProviderFacts) -> None:
    """Para 41: the overall figure may be moderated *down* (to a higher, worse score), never up."""
    result = score(values, facts)
    assert result.overall >= unmoderated(result)
    assert all(m.after > m.before and m.source == "para 41" for m in result.moderations)
    steps = [unmoderated(result), *(m.after for m in result.moderations)]
    assert steps == sorted(steps) and steps[-1] == result.overall
    assert result.overall >= score(values, NEUTRAL).overall
    assert 1 <= result.overall <= 4


@given(values=finance_values, facts=finance_facts, kind=st.sampled_from(["finance", "both"]))
def test_special_measures_for_financial_reasons_is_always_4(
    values: dict[str, float], facts: ProviderFacts, kind: str
) -> None:
    """Para 41: in special measures for financial reasons."""
    result = score(values, facts.model_copy(update={"special_measures": kind}))
    assert result.overall == 4


@given(values=finance_values, facts=finance_facts)
def test_a_4_on_any_metric_is_at_least_3(values: dict[str, float], facts: ProviderFacts) -> None:
    """Para 41: scores 4 on any individual finance metric."""
    result = score(values, facts)
    if 4 in result.metrics.values():
        assert result.overall >= 3
    if facts.control_total_agreed is False:
        assert result.overall >= 2
    if (
        4 not in result.metrics.values()
        and facts.control_total_agreed is not False
        and facts.special_measures not in ("finance", "both")
    ):
        assert result.moderations == []


# --- segments (Table 2) -------------------------------------------------------------------------

TRIGGER_KINDS = [(code, rule.theme) for code, rule in PACK.triggers.items()]


@st.composite
def triggers(draw: st.DrawFn) -> tuple[Trigger, ...]:
    count = draw(st.integers(0, 5))
    found = []
    for i in range(count):
        code, fixed_theme = draw(st.sampled_from(TRIGGER_KINDS))
        theme = fixed_theme or draw(st.sampled_from(list(Theme)))
        found.append(
            Trigger(
                code=code,
                theme=theme,
                metric=None,
                evidence="drawn",
                source=PACK.triggers[code].source,
                key=f"{code}:{i}",
                cause_for_concern=draw(st.booleans()),
            )
        )
    return tuple(found)


positions = st.builds(
    engine_segments.Position,
    triggers=triggers(),
    facts=st.builds(
        ProviderFacts,
        licence=licences,
        special_measures=special_measures,
        current_segment=st.sampled_from([None, 1, 2, 3, 4]),
    ),
)


def segment(position: engine_segments.Position) -> int:
    return engine_segments.propose(PACK, position).segment


@given(position=positions)
def test_the_proposed_segment_is_1_to_4(position: engine_segments.Position) -> None:
    """Table 2: four segments in nof-2019."""
    assert segment(position) in (1, 2, 3, 4)


@given(position=positions, kind=st.sampled_from(["quality", "finance", "both"]))
def test_special_measures_is_always_segment_4(position: engine_segments.Position, kind: str) -> None:
    """Table 2 (segment 4)."""
    facts = position.facts.model_copy(update={"special_measures": kind})
    assert segment(engine_segments.Position(position.triggers, facts)) == 4


@given(position=positions)
def test_no_trigger_and_no_special_measures_is_segment_1(position: engine_segments.Position) -> None:
    """Table 2 (segment 1): no actual support needs identified, whatever the licence."""
    facts = position.facts.model_copy(update={"special_measures": "none"})
    assert segment(engine_segments.Position((), facts)) == 1


@given(position=positions, licence=st.sampled_from(["suspected_breach", "breach"]))
def test_a_trigger_and_a_breach_without_special_measures_is_segment_3(
    position: engine_segments.Position, licence: str
) -> None:
    """Table 2 (segment 3): support need and actual or suspected breach, not special measures."""
    if not position.triggers:
        return
    facts = position.facts.model_copy(update={"special_measures": None, "licence": licence})
    assert segment(engine_segments.Position(position.triggers, facts)) == 3


@given(position=positions)
def test_a_trigger_with_licence_compliance_and_no_special_measures_is_segment_2(
    position: engine_segments.Position,
) -> None:
    """Table 2 (segment 2): support needed, not in breach of licence."""
    if not position.triggers:
        return
    facts = position.facts.model_copy(update={"special_measures": "none", "licence": "compliant"})
    assert segment(engine_segments.Position(position.triggers, facts)) == 2


@given(position=positions, data=st.data())
def test_clearing_triggers_never_worsens_the_proposed_segment(
    position: engine_segments.Position, data: st.DataObject
) -> None:
    """Table 2 and the pathway: clearing a trigger can only keep or improve the segment."""
    keys = [t.key for t in position.triggers]
    cleared = data.draw(st.sets(st.sampled_from(keys)) if keys else st.just(set()))
    assert segment(position.without(cleared)) <= segment(position)
    for key in keys:
        assert segment(position.without({key})) <= segment(position)


@given(position=positions, as_of=st.dates(date(2024, 1, 1), date(2030, 12, 31)))
def test_timing_follows_earned_autonomy(position: engine_segments.Position, as_of: date) -> None:
    """Para 31: only a segment-1 provider waits, only without cause for concern, until a review day."""
    proposal = engine_segments.propose(PACK, position)
    timing = engine_segments.decision_timing(PACK, proposal, position, as_of)
    concern = any(t.cause_for_concern for t in position.triggers) or position.special_measures
    waits = position.facts.current_segment == 1 and proposal.segment != 1 and not concern
    assert (timing.timing == "next_quarterly_review") == waits
    if waits:
        review_days = {(1, 1), (4, 1), (7, 1), (10, 1)}
        assert timing.review_date is not None
        assert timing.review_date >= as_of
        assert (timing.review_date.month, timing.review_date.day) in review_days
        assert (timing.review_date - as_of).days < 92
        # on a review day, that day's review; otherwise the first one after it
        assert (timing.review_date == as_of) == ((as_of.month, as_of.day) in review_days)
    else:
        assert timing.review_date is None


# --- the whole evaluation -----------------------------------------------------------------------

ratings = st.sampled_from([None, *Rating])


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    values = draw(st.one_of(st.none(), finance_values))
    observations = (
        [Observation(metric=m, period="2026-10", value=v) for m, v in values.items()] if values else []
    )
    reports = [
        ScenarioExceptionReport(
            category=category,
            received=draw(st.dates(date(2026, 6, 1), date(2026, 11, 30))),
            summary="drawn",
            resolved=draw(st.one_of(st.none(), st.dates(date(2026, 6, 1), date(2026, 12, 31)))),
        )
        for category in draw(st.lists(st.sampled_from(list(ExceptionReportCategory)), max_size=3))
    ]
    facts = ProviderFacts(
        cqc=CqcRatings(
            overall=draw(ratings), safe=draw(ratings), well_led=draw(ratings), responsive=draw(ratings)
        ),
        use_of_resources=draw(ratings),
        control_total_agreed=draw(st.sampled_from([None, True, False])),
        licence=draw(licences),
        special_measures=draw(special_measures),
        seven_day_standards_met=draw(st.sampled_from([None, True, False])),
        current_segment=draw(st.sampled_from([None, 1, 2, 3, 4])),
    )
    return Scenario(
        as_of=date(2026, 11, 23),
        provider=PROVIDER,
        observations=observations,
        facts=facts,
        exception_reports=reports,
    )


@given(case=scenarios())
def test_every_evaluation_is_consistent(case: Scenario) -> None:
    """Table 2, para 31: a segment 1-4; needs are the triggers' themes; no pathway step worsens it."""
    result = evaluate(case)
    assert result.proposed_segment in (1, 2, 3, 4)
    assert result.support_needs == {theme: any(t.theme is theme for t in result.triggers) for theme in Theme}
    assert all(step.segment_after <= result.proposed_segment for step in result.pathway)
    special = case.facts.special_measures in ("quality", "finance", "both")
    if special:
        assert result.proposed_segment == 4
    elif not result.triggers:
        assert result.proposed_segment == 1
    if result.finance_score is not None and case.facts.special_measures in ("finance", "both"):
        assert result.finance_score.overall == 4
    assert (result.review_date is None) == (result.decision_timing == "immediate")


# --- values as large as a float can be --------------------------------------------------------

#: Every metric watched with SPC that has no maximum, in either pack: (framework, metric).
UNBOUNDED_SPC = [
    (pack_id, metric)
    for pack_id in ("nof-2019", "nof-2025")
    for metric, rule in load_pack(pack_id).metrics.items()
    if rule.spc and rule.maximum is None
]


@st.composite
def huge_series(draw: st.DrawFn) -> Scenario:
    framework, metric = draw(st.sampled_from(UNBOUNDED_SPC))
    rule = load_pack(framework).metrics[metric]
    low = rule.minimum if rule.minimum is not None else -1.7976931348623157e308
    # Mostly values within a few powers of ten of the largest float, with some ordinary ones.
    value = st.one_of(
        st.floats(min_value=max(low, 1e300), allow_nan=False, allow_infinity=False),
        st.floats(min_value=low, allow_nan=False, allow_infinity=False),
    )
    values = draw(st.lists(value, min_size=12, max_size=15))
    return Scenario(
        framework=framework,
        as_of=date(2026, 11, 23),
        provider=PROVIDER,
        observations=[
            Observation(metric=metric, period=period_of(MONTH - i), value=v)
            for i, v in enumerate(reversed(values))
        ],
        facts=NEUTRAL.model_copy(update={"current_segment": 1}),
    )


@given(case=huge_series())
def test_values_up_to_the_largest_float_give_a_valid_evaluation(case: Scenario) -> None:
    """A metric with no maximum (minutes, counts, ratios, scores) may carry any finite value:
    the evaluation is made, serialises to JSON and reads back as the same valid evaluation."""
    result = evaluate(case)
    assert result.proposed_segment in (1, 2, 3, 4, 5)
    assert Evaluation.model_validate_json(result.model_dump_json()) == result
    for trigger in result.triggers:
        assert "nan" not in trigger.evidence.replace(",", " ").split()
