"""The scored approach of the 2025/26 framework: each metric 1.00 (best) to 4.00, then the mean."""

from __future__ import annotations

from oversight_contracts.frameworks import FrameworkPack, MetricRule
from oversight_contracts.scenario import MetricScores, ProviderFacts
from oversight_engine.periods import Series


def score_value(value: float, rule: MetricRule) -> float:
    """Linear from 1.00 at the pack's ``best`` to 4.00 at its ``worst``, clamped, two decimals."""
    assert rule.score is not None, "metric has no score band"
    best, worst = rule.score.best, rule.score.worst
    position = (value - best) / (worst - best)
    return round(1 + 3 * min(max(position, 0.0), 1.0), 2)


def metric_scores(series: Series, pack: FrameworkPack, facts: ProviderFacts) -> MetricScores:
    """Score every scored metric on its latest month; the deficit flag caps the segment later."""
    scores = {
        metric: score_value(series[metric][max(series[metric])], rule)
        for metric, rule in pack.metrics.items()
        if rule.score is not None and series.get(metric)
    }
    mean = round(sum(scores.values()) / len(scores), 2) if scores else None
    return MetricScores(metrics=scores, mean=mean, in_financial_deficit=in_deficit(series, pack, facts))


def in_deficit(series: Series, pack: FrameworkPack, facts: ProviderFacts) -> bool:
    """The fact if given; otherwise a negative latest value of the pack's deficit metric."""
    if facts.in_financial_deficit is not None:
        return facts.in_financial_deficit
    scored = pack.segmentation.scored
    if scored is None or not series.get(scored.deficit_metric):
        return False
    points = series[scored.deficit_metric]
    return points[max(points)] < 0
