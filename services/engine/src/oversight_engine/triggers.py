"""Triggers of potential support need (paras 36-61), one function per kind of trigger rule.

A metric trigger's *condition* is read month by month; the trigger stays raised until its
condition has not held for the rule's ``clears_after_periods`` consecutive months. Rating and
notice triggers follow the fact: they clear when the rating or notice changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from oversight_contracts.codes import Theme
from oversight_contracts.frameworks import FrameworkPack, MetricRule, TriggerKind, TriggerRule
from oversight_contracts.scenario import FinanceScore, ProviderFacts, Scenario, Trigger
from oversight_engine import spc
from oversight_engine.periods import Series, month_of, period_of
from oversight_engine.scoring import score_value


@dataclass(frozen=True)
class TriggerInputs:
    pack: FrameworkPack
    as_of: date
    series: Series
    facts: ProviderFacts
    finance_scores: Mapping[int, FinanceScore]
    scenario: Scenario


def raised_triggers(inputs: TriggerInputs) -> list[Trigger]:
    found: list[Trigger] = []
    for code, rule in inputs.pack.triggers.items():
        found.extend(_EVALUATORS[rule.kind](code, rule, inputs))
    return found


def _trigger(
    code: str,
    rule: TriggerRule,
    *,
    theme: Theme | None = None,
    metric: str | None = None,
    evidence: str,
    key: str,
    cause_for_concern: bool = False,
) -> Trigger:
    resolved_theme = theme or rule.theme
    assert resolved_theme is not None, f"trigger {code} has no theme"
    return Trigger(
        code=code,
        theme=resolved_theme,
        metric=metric,
        evidence=evidence,
        source=rule.source,
        key=key,
        cause_for_concern=cause_for_concern or rule.cause_for_concern,
    )


# --- facts ---------------------------------------------------------------------------------------


def _rating(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    facts = inputs.facts
    if rule.fact == "cqc":
        ratings = {q: getattr(facts.cqc, q, None) for q in rule.questions} if facts.cqc else {}
    else:
        ratings = {q: getattr(facts, rule.fact or q, None) for q in rule.questions}
    failing = {q: r for q, r in ratings.items() if r in rule.ratings}
    if failing:
        listed = ", ".join(f"{q.replace('_', '-')} {r.value.replace('_', ' ')}" for q, r in failing.items())
        yield _trigger(
            code,
            rule,
            evidence=f"{rule.name}: {listed}",
            key=code,
            cause_for_concern=any(r in rule.cause_for_concern_ratings for r in failing.values()),
        )


def _fact_not_met(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    if getattr(inputs.facts, rule.fact or code, None) is False:
        yield _trigger(code, rule, evidence=f"{rule.name}", key=code)


# --- events: exception reports and material concerns -------------------------------------------


def _recent(received: date, rule: TriggerRule, as_of: date) -> bool:
    """Still raised: received this month or within the months before it clears."""
    age = month_of(as_of) - month_of(received)
    return received <= as_of and age < rule.clears_after_periods


def _exception_report(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    mapping = inputs.pack.exception_reports
    by_category: dict[str, list[str]] = {}
    themes: dict[str, Theme] = {}
    for report in sorted(inputs.scenario.exception_reports, key=lambda r: r.received):
        category_rule = mapping[report.category]
        if category_rule.trigger != code:
            continue
        if rule.clears_after_periods == 0:  # a notice: raised until the fact changes
            still_raised = report.received <= inputs.as_of and (
                report.resolved is None or report.resolved > inputs.as_of
            )
        else:
            still_raised = _recent(report.received, rule, inputs.as_of)
        if still_raised:
            label = report.category.value.replace("_", " ")
            by_category.setdefault(report.category.value, []).append(
                f"{label} reported {report.received}: {report.summary}"
            )
            themes[report.category.value] = category_rule.theme
    for category, lines in by_category.items():
        yield _trigger(
            code,
            rule,
            theme=themes[category],
            evidence="; ".join(lines),
            key=f"{code}:{category}",
        )


def _material_concern(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    by_theme: dict[Theme, list[str]] = {}
    for concern in sorted(inputs.scenario.material_concerns, key=lambda c: c.raised):
        if _recent(concern.raised, rule, inputs.as_of):
            by_theme.setdefault(concern.theme, []).append(f"raised {concern.raised}: {concern.summary}")
    for theme, lines in by_theme.items():
        yield _trigger(code, rule, theme=theme, evidence="; ".join(lines), key=f"{code}:{theme.value}")


# --- metrics -------------------------------------------------------------------------------------


def _held_recently(months: list[int], condition: Callable[[int], bool], rule: TriggerRule) -> int | None:
    """The latest month (of the last ``clears_after_periods`` calendar months of data) in which
    the condition held, or None if it has not held in any of them (the trigger has cleared)."""
    if not months:
        return None
    latest = months[-1]
    for month in range(latest, latest - rule.clears_after_periods, -1):
        if month in months and condition(month):
            return month
    return None


def _metrics_of(rule: TriggerRule, pack: FrameworkPack) -> Iterator[tuple[str, MetricRule]]:
    for metric, metric_rule in pack.metrics.items():
        if metric_rule.theme == rule.metrics_theme:
            yield metric, metric_rule


def _history(points: Mapping[int, float], month: int) -> list[float]:
    """The series up to and including ``month``: SPC limits never look ahead."""
    return [points[m] for m in sorted(points) if m <= month]


def _spc_concern(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    for metric, metric_rule in _metrics_of(rule, inputs.pack):
        if metric_rule.spc and metric in inputs.series:
            yield from _spc_concern_on(code, rule, inputs, metric, metric_rule)


def _spc_concern_on(
    code: str, rule: TriggerRule, inputs: TriggerInputs, metric: str, metric_rule: MetricRule
) -> Iterator[Trigger]:
    points = inputs.series[metric]

    def reading_at(month: int) -> spc.PointReading | None:
        return spc.read_point(_history(points, month), inputs.pack.spc, metric_rule.direction)

    held = _held_recently(sorted(points), lambda m: bool((r := reading_at(m)) and r.concern), rule)
    reading = reading_at(held) if held is not None else None
    if held is not None and reading is not None:
        signals = "; ".join(sorted(s.value for s in reading.concern))
        yield _trigger(
            code,
            rule,
            metric=metric,
            evidence=(
                f"{metric_rule.name} {_value(points[held], metric_rule)} in {period_of(held)}: "
                f"special-cause concern ({signals}); mean {reading.limits.mean:.2f}, "
                f"limits {reading.limits.lower:.2f} to {reading.limits.upper:.2f}"
            ),
            key=f"{code}:{metric}",
        )


Evaluator = Callable[[str, TriggerRule, TriggerInputs], Iterator[Trigger]]


def _each_standard(
    evaluate: Callable[[str, TriggerRule, TriggerInputs, str, MetricRule], Iterator[Trigger]],
) -> Evaluator:
    """A per-metric rule applied to every metric of the rule's theme with a standard and returns."""

    def evaluator(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
        for metric, metric_rule in _metrics_of(rule, inputs.pack):
            if metric_rule.standard is not None and metric in inputs.series:
                yield from evaluate(code, rule, inputs, metric, metric_rule)

    return evaluator


def _standard_failed(
    code: str, rule: TriggerRule, inputs: TriggerInputs, metric: str, metric_rule: MetricRule
) -> Iterator[Trigger]:
    standard = metric_rule.standard
    assert standard is not None
    points = inputs.series[metric]

    def run_ending(month: int) -> range:
        return range(month - rule.consecutive_periods + 1, month + 1)

    def failed_run(month: int) -> bool:
        return all(m in points and not standard.met(points[m]) for m in run_ending(month))

    held = _held_recently(sorted(points), failed_run, rule)
    if held is not None:
        values = ", ".join(f"{_value(points[m], metric_rule)} in {period_of(m)}" for m in run_ending(held))
        yield _trigger(
            code,
            rule,
            metric=metric,
            evidence=f"{metric_rule.name} {values}; standard {standard.describe()} ({standard.source})",
            key=f"{code}:{metric}",
        )


def _standard_deterioration(
    code: str, rule: TriggerRule, inputs: TriggerInputs, metric: str, metric_rule: MetricRule
) -> Iterator[Trigger]:
    standard = metric_rule.standard
    assert standard is not None
    points = inputs.series[metric]

    def deteriorated(month: int) -> bool:
        if standard.met(points[month]):
            return False
        reading = spc.read_point(_history(points, month), inputs.pack.spc, metric_rule.direction)
        return reading is not None and spc.Signal.BEYOND_LIMIT in reading.concern

    held = _held_recently(sorted(points), deteriorated, rule)
    if held is not None:
        yield _trigger(
            code,
            rule,
            metric=metric,
            evidence=(
                f"{metric_rule.name} {_value(points[held], metric_rule)} in {period_of(held)}: fails "
                f"the standard {standard.describe()} and is beyond its process limit"
            ),
            key=f"{code}:{metric}",
        )


def _finance_score(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    scores = inputs.finance_scores
    months = sorted(scores)
    threshold = rule.at_least or 3
    held = _held_recently(months, lambda m: scores[m].overall >= threshold, rule)
    if held is not None:
        score = scores[held]
        yield _trigger(
            code,
            rule,
            evidence=(
                f"Finance score {score.overall} in {score.period} (mean {score.mean:.1f} of "
                + ", ".join(f"{m} {s}" for m, s in score.metrics.items())
                + ")"
            ),
            key=code,
        )


def _metric_score(code: str, rule: TriggerRule, inputs: TriggerInputs) -> Iterator[Trigger]:
    """Scored approach: a metric whose latest score is at or beyond the rule's threshold."""
    for metric, metric_rule in inputs.pack.metrics.items():
        if metric_rule.score is None or metric not in inputs.series:
            continue
        latest = max(inputs.series[metric])
        score = score_value(inputs.series[metric][latest], metric_rule)
        if score >= (rule.at_least or 4.0):
            yield _trigger(
                code,
                rule,
                theme=metric_rule.theme,
                metric=metric,
                evidence=(
                    f"{metric_rule.name} {_value(inputs.series[metric][latest], metric_rule)} in "
                    f"{period_of(latest)} scores {score:.2f}"
                ),
                key=f"{code}:{metric}",
            )


def _value(value: float, rule: MetricRule) -> str:
    return f"{value:g}%" if rule.unit == "%" else f"{value:g} {rule.unit}"


_EVALUATORS: dict[TriggerKind, Evaluator] = {
    TriggerKind.RATING: _rating,
    TriggerKind.FACT_NOT_MET: _fact_not_met,
    TriggerKind.EXCEPTION_REPORT: _exception_report,
    TriggerKind.MATERIAL_CONCERN: _material_concern,
    TriggerKind.SPC_CONCERN: _spc_concern,
    TriggerKind.STANDARD_FAILED: _each_standard(_standard_failed),
    TriggerKind.STANDARD_DETERIORATION: _each_standard(_standard_deterioration),
    TriggerKind.FINANCE_SCORE: _finance_score,
    TriggerKind.METRIC_SCORE: _metric_score,
}
