"""The monthly finance score (paras 40-41): five metrics scored 1 (best) to 4, averaged, moderated."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from oversight_contracts.frameworks import Direction, FinanceScoreRule, FrameworkPack
from oversight_contracts.scenario import FinanceScore, Moderation, ProviderFacts
from oversight_engine.periods import period_of


def score_metric(value: float, thresholds: tuple[float, float, float], direction: Direction) -> int:
    """1 at or beyond the first threshold in the better direction, then 2, 3, else 4."""
    for score, threshold in enumerate(thresholds, start=1):
        if value >= threshold if direction is Direction.HIGHER_IS_BETTER else value <= threshold:
            return score
    return 4


def round_half_to_worse(mean: Fraction) -> int:
    """Nearest whole score; a half goes to the worse (higher) score."""
    whole = mean.numerator // mean.denominator
    return whole + 1 if mean - whole >= Fraction(1, 2) else whole


def finance_score(
    values: Mapping[str, float], month: int, pack: FrameworkPack, facts: ProviderFacts
) -> FinanceScore:
    """Score one month that has every finance metric."""
    rule = _rule(pack)
    metrics = {
        metric: score_metric(values[metric], bands.thresholds, pack.metrics[metric].direction)
        for metric, bands in rule.metrics.items()
    }
    mean = Fraction(sum(metrics.values()), len(metrics))
    overall = round_half_to_worse(mean)
    moderations = []
    for moderation in rule.moderations:
        if _moderation_applies(moderation.when, metrics, facts) and overall < moderation.at_least:
            moderations.append(
                Moderation(
                    rule=moderation.when,
                    description=moderation.description,
                    source=moderation.source,
                    before=overall,
                    after=moderation.at_least,
                )
            )
            overall = moderation.at_least
    return FinanceScore(
        period=period_of(month),
        metrics=metrics,
        mean=float(mean),
        overall=overall,
        moderations=moderations,
    )


def _moderation_applies(when: str, metrics: Mapping[str, int], facts: ProviderFacts) -> bool:
    if when == "any_metric_scored_4":
        return 4 in metrics.values()
    if when == "no_control_total":
        return facts.control_total_agreed is False
    return facts.special_measures in ("finance", "both")


def _rule(pack: FrameworkPack) -> FinanceScoreRule:
    if pack.finance_score is None:
        raise ValueError(f"framework {pack.id} has no finance score")
    return pack.finance_score


def monthly_finance_scores(
    series: Mapping[str, Mapping[int, float]], pack: FrameworkPack, facts: ProviderFacts
) -> dict[int, FinanceScore]:
    """A finance score for every month that has all of the pack's finance metrics."""
    if pack.finance_score is None:
        return {}
    needed = list(pack.finance_score.metrics)
    months = set.intersection(*(set(series.get(m, {})) for m in needed))
    return {
        month: finance_score({m: series[m][month] for m in needed}, month, pack, facts)
        for month in sorted(months)
    }
