"""Metrics' rules, free of I/O: the framework engine applied to one provider's stored history.

After every return, exception report, fact or concern the provider's whole position is
re-evaluated with the same engine as ``oversight evaluate``; the difference between the triggers
the engine now finds and those already raised becomes ``trigger.raised`` / ``trigger.cleared``.
Keys make that difference exact: a trigger still raised is not raised again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from oversight_engine.evaluate import evaluate_series
from oversight_engine.indicators import read_indicator
from oversight_engine.periods import Series, month_index

from oversight_contracts import (
    AnySubmissionReceived,
    Envelope,
    MetricEvaluated,
    MetricEvaluatedData,
    MetricScoresCalculatedV2,
    MetricScoresCalculatedV2Data,
    TriggerClearedV2,
    TriggerClearedV2Data,
    TriggerRaisedV2,
    TriggerRaisedV2Data,
    TriggerReviewDueV2,
    TriggerReviewDueV2Data,
)
from oversight_contracts.frameworks import FrameworkPack
from oversight_contracts.scenario import (
    Evaluation,
    MaterialConcern,
    MetricScores,
    ProviderFacts,
    Scenario,
    ScenarioExceptionReport,
    ScenarioProvider,
    Trigger,
)
from oversight_runtime.reference import Provider

SOURCE = "metrics"


@dataclass(frozen=True)
class OpenTrigger:
    """A trigger already raised and not cleared, as stored."""

    trigger_id: UUID
    key: str
    code: str
    theme: str
    metric: str | None


@dataclass(frozen=True)
class ProviderHistory:
    provider: Provider
    #: Mutable: a batch's handlers add each return's values to the cached copy.
    series: dict[str, dict[int, float]]
    facts: Mapping[str, Any]
    exception_reports: Sequence[ScenarioExceptionReport]
    material_concerns: Sequence[MaterialConcern]


def evaluate_provider(history: ProviderHistory, pack: FrameworkPack, as_of: date) -> Evaluation:
    provider = history.provider
    scenario = Scenario(
        framework=pack.id,
        as_of=as_of,
        provider=ScenarioProvider(
            ods_code=provider.ods_code,
            name=provider.name,
            kind=provider.kind,
            icbs=list(provider.icbs),
            region=provider.region,
        ),
        facts=ProviderFacts.model_validate(history.facts),
        exception_reports=list(history.exception_reports),
        material_concerns=list(history.material_concerns),
    )
    return evaluate_series(scenario, pack, history.series)


def origin(cause: Envelope[Any]) -> str:
    """What arrived and made the engine raise the trigger, by the id the sender knows it by."""
    data = cause.data
    for kind, field in (
        ("exception_report", "report_id"),
        ("submission", "submission_id"),
        ("provider_facts", "facts_id"),
        ("material_concern", "concern_id"),
    ):
        if hasattr(data, field):
            return f"{kind}:{getattr(data, field)}"
    return f"{cause.event_type()}:{cause.id}"


@dataclass(frozen=True)
class TriggerChanges:
    raised: list[TriggerRaisedV2]
    cleared: list[TriggerClearedV2]


def cause_of(trigger: Trigger, causes: Sequence[Envelope[Any]]) -> Envelope[Any]:
    """Which of the events that led to a re-evaluation a newly raised trigger follows from: the
    latest that bears on it (a report of its category, a concern under its theme, a return with
    its metric), else the latest of them. A batch holding two reports about one provider then
    gives each trigger its own report as cause and correlation, as one at a time would."""
    for event in reversed(causes):
        if _bears_on(event.data, trigger):
            return event
    return causes[-1]


def _bears_on(data: Any, trigger: Trigger) -> bool:
    category = getattr(data, "category", None)
    if category is not None:  # an exception report: its trigger is keyed by category
        return bool(trigger.key and trigger.key.endswith(f":{category.value}"))
    if hasattr(data, "concern_id"):
        return bool(data.theme == trigger.theme)
    observations = getattr(data, "observations", None)
    if observations is not None and trigger.metric is not None:
        return any(o.metric == trigger.metric for o in observations)
    return False


def trigger_changes(
    found: Iterable[Trigger],
    open_triggers: Iterable[OpenTrigger],
    *,
    causes: Sequence[Envelope[Any]],
    now: datetime,
) -> TriggerChanges:
    """Triggers raised and cleared; ``causes`` are the events since the last evaluation, the
    latest last (one, or a batch's events about the provider)."""
    found_by_key = {t.key: t for t in found}
    open_by_key = {t.key: t for t in open_triggers}
    cause = causes[-1]
    raised = [
        TriggerRaisedV2.new(
            source=SOURCE,
            subject=cause.subject,
            cause=cause_of(t, causes),
            data=TriggerRaisedV2Data(
                trigger_id=uuid4(),
                provider=cause.subject,
                code=t.code,
                theme=t.theme,
                metric=t.metric,
                evidence=t.evidence,
                source=origin(cause_of(t, causes)),
                framework_paragraph=t.source,
                raised_at=now,
                key=t.key,
                cause_for_concern=t.cause_for_concern,
            ),
        )
        for key, t in found_by_key.items()
        if key not in open_by_key
    ]
    cleared = [
        TriggerClearedV2.new(
            source=SOURCE,
            subject=cause.subject,
            cause=cause,
            data=TriggerClearedV2Data(
                trigger_id=t.trigger_id,
                provider=cause.subject,
                code=t.code,
                theme=t.theme,
                metric=t.metric,
                key=key,
                reason="its condition no longer holds under the framework's rules",
                cleared_at=now,
            ),
        )
        for key, t in open_by_key.items()
        if key not in found_by_key
    ]
    return TriggerChanges(raised, cleared)


def evaluations_for_submission(
    submission: AnySubmissionReceived, revised_metrics: set[str], series: Series, pack: FrameworkPack
) -> list[MetricEvaluated]:
    month = month_index(submission.data.period)
    evaluations = []
    for observation in submission.data.observations:
        reading = read_indicator(pack, observation.metric, series[observation.metric], month)
        evaluations.append(
            MetricEvaluated.new(
                source=SOURCE,
                subject=submission.subject,
                cause=submission,
                data=MetricEvaluatedData(
                    submission_id=submission.data.submission_id,
                    provider=submission.data.provider,
                    metric=observation.metric,
                    period=submission.data.period,
                    value=observation.value,
                    revised=observation.metric in revised_metrics,
                    standard_met=reading.standard_met,
                    variation=reading.variation.value if reading.variation else None,
                    assurance=reading.assurance.value if reading.assurance else None,
                ),
            )
        )
    return evaluations


def scores_calculated(
    scores: MetricScores | None,
    last_published: MetricScores | None,
    pack: FrameworkPack,
    *,
    cause: Envelope[Any],
    now: datetime,
) -> MetricScoresCalculatedV2 | None:
    """Under a scored framework, the provider's scores when they differ from those last published.

    Segmentation sets the segment from them (NOF 2025/26), so it hears of every change and no more.
    """
    if scores is None or scores == last_published:
        return None
    return MetricScoresCalculatedV2.new(
        source=SOURCE,
        subject=cause.subject,
        cause=cause,
        data=MetricScoresCalculatedV2Data(
            provider=cause.subject,
            framework=pack.id,
            metric_scores=scores.metrics,
            mean_score=scores.mean,
            in_financial_deficit=scores.in_financial_deficit,
            calculated_at=now,
        ),
    )


def reviews_due(
    with_open_triggers: Iterable[str], already_scheduled: Iterable[str], today: date
) -> list[TriggerReviewDueV2]:
    """One review a day for each provider with an open trigger not yet reviewed today.

    Only open triggers can clear by the calendar; a provider with none has nothing to review.
    """
    done = set(already_scheduled)
    return [
        TriggerReviewDueV2.new(
            source=SOURCE,
            subject=provider,
            data=TriggerReviewDueV2Data(
                provider=provider,
                review_date=today,
                reason="open triggers re-read as the calendar moves on (paras 21, 37: clearing after quiet months)",
            ),
        )
        for provider in sorted(set(with_open_triggers) - done)
    ]
