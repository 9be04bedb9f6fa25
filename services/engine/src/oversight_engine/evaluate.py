"""One provider, one framework pack, one date: triggers, support needs and a segment proposal."""

from __future__ import annotations

from collections import defaultdict

from oversight_contracts.frameworks import FrameworkPack, UnknownFramework, load_pack
from oversight_contracts.scenario import Evaluation, Scenario
from oversight_engine import finance, scoring, segments, triggers
from oversight_engine.periods import Series, month_index, month_of


class ScenarioError(ValueError):
    """The scenario cannot be evaluated under its framework; the message names the problem."""


def build_series(scenario: Scenario, pack: FrameworkPack) -> dict[str, dict[int, float]]:
    """Observations up to ``as_of``, by metric and month; unknown metrics and duplicates refused.

    Observations after ``as_of`` are left out, so a scenario can be replayed as of any earlier date.
    """
    series: dict[str, dict[int, float]] = defaultdict(dict)
    seen: set[tuple[str, int]] = set()
    cutoff = month_of(scenario.as_of)
    for i, observation in enumerate(scenario.observations):
        if observation.metric not in pack.metrics:
            raise ScenarioError(
                f"observations[{i}]: unknown metric {observation.metric!r} for framework {pack.id}"
            )
        if (problem := pack.metrics[observation.metric].out_of_bounds(observation.value)) is not None:
            raise ScenarioError(f"observations[{i}]: {observation.metric} {problem}")
        try:
            month = month_index(observation.period)
        except ValueError as error:  # a scenario built without validation
            raise ScenarioError(f"observations[{i}].period: {error}") from error
        if (observation.metric, month) in seen:
            raise ScenarioError(
                f"observations[{i}]: a second value for {observation.metric} in {observation.period}"
            )
        seen.add((observation.metric, month))
        if month <= cutoff:
            series[observation.metric][month] = observation.value
    return dict(series)


def evaluate(scenario: Scenario, pack: FrameworkPack | None = None) -> Evaluation:
    if pack is None:
        try:
            pack = load_pack(scenario.framework)
        except UnknownFramework as error:
            raise ScenarioError(str(error)) from error
    series = build_series(scenario, pack)
    return evaluate_series(scenario, pack, series)


def evaluate_series(scenario: Scenario, pack: FrameworkPack, series: Series) -> Evaluation:
    facts = scenario.facts
    monthly_finance = finance.monthly_finance_scores(series, pack, facts)
    raised = triggers.raised_triggers(
        triggers.TriggerInputs(
            pack=pack,
            as_of=scenario.as_of,
            series=series,
            facts=facts,
            finance_scores=monthly_finance,
            scenario=scenario,
        )
    )
    scores = scoring.metric_scores(series, pack, facts) if pack.segmentation.method == "scored" else None
    position = segments.Position(tuple(raised), facts, scores)
    proposal = segments.propose(pack, position)
    timing = segments.decision_timing(pack, proposal, position, scenario.as_of)
    finance_score = monthly_finance[max(monthly_finance)] if monthly_finance else None
    return Evaluation(
        framework=pack.id,
        as_of=scenario.as_of,
        provider=scenario.provider,
        finance_score=finance_score,
        scores=scores,
        triggers=raised,
        support_needs=position.support_needs,
        proposed_segment=proposal.segment,
        segment_name=proposal.rule.name,
        decision_timing=timing.timing,
        review_date=timing.review_date,
        rationale=segments.rationale(pack, position, proposal, timing),
        pathway=segments.pathway(pack, position),
    )
