"""Metrics' event handlers: record what arrived, re-evaluate the provider, publish the changes.

Events are keyed by provider, so one provider's events are handled one at a time, in order;
each handler's writes and the events it publishes commit together (outbox). A provider is
re-evaluated once per batch, after its last event (``UnitOfWork.once``): triggers follow from its
state, so the state after the batch is the one that counts; its history is read once per batch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from oversight_engine.periods import month_index
from sqlalchemy import Table, bindparam
from sqlmodel import col, select

from oversight_contracts import (
    AnyExceptionReportReceived,
    AnyMaterialConcernRaised,
    AnyProviderFactsRecorded,
    AnySubmissionReceived,
    AnyTriggerReviewDue,
    Envelope,
    ExceptionReportReceived,
    ExceptionReportReceivedV2,
    MaterialConcernRaised,
    MaterialConcernRaisedV2,
    ProviderFactsRecorded,
    ProviderFactsRecordedV2,
    SubmissionReceived,
    SubmissionReceivedV2,
    TriggerReviewDue,
    TriggerReviewDueV2,
)
from oversight_contracts.scenario import FACT_FIELDS, MaterialConcern, MetricScores, ScenarioExceptionReport
from oversight_metrics import domain
from oversight_metrics.storage import (
    ExceptionReportSeen,
    MaterialConcernSeen,
    Observation,
    ProviderFactsRecord,
    ProviderMetricScores,
    RaisedTrigger,
    TriggerReviewScheduled,
)
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.periodic import PeriodicJob
from oversight_runtime.unit_of_work import UnitOfWork, insert_rows

handlers = EventHandlers()


@handlers.on(SubmissionReceived, SubmissionReceivedV2)
async def record_submission(uow: UnitOfWork, event: AnySubmissionReceived) -> None:
    """Store each value of a trust's return, evaluate it as an indicator, re-check triggers."""
    data = event.data
    history = await _history(uow, data.provider)
    month = month_index(data.period)
    revised = {o.metric for o in data.observations if month in history.series.get(o.metric, {})}
    now = datetime.now(UTC)
    rows = [
        {
            "provider": data.provider,
            "metric": o.metric,
            "period": data.period,
            "value": o.value,
            "submission_id": data.submission_id,
            "recorded_at": now,
        }
        for o in data.observations
    ]
    if new := [row for row in rows if row["metric"] not in revised]:  # one statement, not one per value
        await insert_rows(uow.session, Observation, new)
    if changed := [row for row in rows if row["metric"] in revised]:  # a resubmission replaces them
        # The table's own UPDATE, once per value, in one executemany.
        table: Table = Observation.__table__  # type: ignore[attr-defined]
        connection = await uow.session.connection()
        await connection.execute(
            table.update()
            .where(
                table.c.provider == bindparam("p"),
                table.c.metric == bindparam("m"),
                table.c.period == bindparam("month"),
            )
            .values(value=bindparam("v"), submission_id=bindparam("s")),
            [
                {
                    "p": row["provider"],
                    "m": row["metric"],
                    "month": row["period"],
                    "v": row["value"],
                    "s": row["submission_id"],
                }
                for row in changed
            ],
        )
    for o in data.observations:
        history.series.setdefault(o.metric, {})[month] = o.value
    for evaluation in domain.evaluations_for_submission(event, revised, history.series, uow.framework):
        uow.publish(evaluation)
    _reevaluate_later(uow, event)


@handlers.on(ExceptionReportReceived, ExceptionReportReceivedV2)
async def record_exception_report(uow: UnitOfWork, event: AnyExceptionReportReceived) -> None:
    """An exception report raises a trigger under the theme its category maps to (para 21)."""
    uow.session.add(
        ExceptionReportSeen(
            id=event.data.report_id,
            provider=event.data.provider,
            category=event.data.category.value,
            summary=event.data.summary,
            received=event.time.date(),
        )
    )
    _reevaluate_later(uow, event, history_changed=True)


@handlers.on(MaterialConcernRaised, MaterialConcernRaisedV2)
async def record_material_concern(uow: UnitOfWork, event: AnyMaterialConcernRaised) -> None:
    uow.session.add(
        MaterialConcernSeen(
            id=event.data.concern_id,
            provider=event.data.provider,
            theme=event.data.theme.value,
            summary=f"{event.data.intelligence_source}: {event.data.summary}",
            raised=event.data.raised_on,
        )
    )
    _reevaluate_later(uow, event, history_changed=True)


@handlers.on(ProviderFactsRecorded, ProviderFactsRecordedV2)
async def record_provider_facts(uow: UnitOfWork, event: AnyProviderFactsRecorded) -> None:
    """Ratings, licence and special measures: a field left out keeps its earlier value."""
    record = await uow.session.get(ProviderFactsRecord, event.data.provider)
    given = event.data.model_dump(mode="json", include=set(FACT_FIELDS), exclude_none=True)
    if record is None:
        uow.session.add(ProviderFactsRecord(provider=event.data.provider, facts=given))
    else:
        record.facts = {**record.facts, **given}
        record.updated_at = datetime.now(UTC)
    _reevaluate_later(uow, event, history_changed=True)


@handlers.on(TriggerReviewDue, TriggerReviewDueV2)
async def review_triggers(uow: UnitOfWork, event: AnyTriggerReviewDue) -> None:
    """Re-read the provider's triggers today: some clear after quiet months, with no event."""
    _reevaluate_later(uow, event)


async def schedule_trigger_reviews(uow: UnitOfWork) -> int:
    """Publish today's review for each provider with open triggers (once a day each)."""
    today = datetime.now(UTC).date()
    open_providers = await uow.session.exec(
        select(RaisedTrigger.provider).where(col(RaisedTrigger.cleared_at).is_(None)).distinct()
    )
    scheduled = await uow.session.exec(
        select(TriggerReviewScheduled.provider).where(TriggerReviewScheduled.review_date == today)
    )
    due = domain.reviews_due(open_providers, scheduled, today)
    for review in due:
        uow.session.add(TriggerReviewScheduled(provider=review.data.provider, review_date=today))
        uow.publish(review)
    return len(due)


jobs = [PeriodicJob("trigger-review-sweep", schedule_trigger_reviews)]


async def _history(uow: UnitOfWork, provider: str) -> domain.ProviderHistory:
    """The provider's history, read once per unit of work (a batch) and kept up to date by the
    handlers that change it."""
    key = ("history", provider)
    if key not in uow.cache:
        uow.cache[key] = await _read_history(uow, provider)
    history: domain.ProviderHistory = uow.cache[key]
    return history


async def _read_history(uow: UnitOfWork, provider: str) -> domain.ProviderHistory:
    session = uow.session
    series: dict[str, dict[int, float]] = defaultdict(dict)
    # Columns, not ORM rows: a long series is read once per batch, and building an entity per
    # value cost metrics a quarter of its CPU under a steady load of returns.
    values = select(Observation.metric, Observation.period, Observation.value)
    for metric, period, value in await session.exec(values.where(Observation.provider == provider)):
        series[metric][month_index(period)] = value
    facts = await session.get(ProviderFactsRecord, provider)
    reports = await session.exec(select(ExceptionReportSeen).where(ExceptionReportSeen.provider == provider))
    concerns = await session.exec(select(MaterialConcernSeen).where(MaterialConcernSeen.provider == provider))
    return domain.ProviderHistory(
        provider=uow.registry.provider(provider),
        series=dict(series),
        facts=facts.facts if facts else {},
        exception_reports=[
            ScenarioExceptionReport(category=r.category, received=r.received, summary=r.summary)
            for r in reports
        ],
        material_concerns=[
            MaterialConcern(theme=c.theme, raised=c.raised, summary=c.summary) for c in concerns
        ],
    )


def _reevaluate_later(uow: UnitOfWork, cause: Envelope[Any], *, history_changed: bool = False) -> None:
    """Re-evaluate the provider once, after the batch's last event about it. A handler that
    changed what the history holds other than the series (reports, concerns, facts) drops the
    cached copy so it is read again."""
    if history_changed:
        uow.cache.pop(("history", cause.subject), None)
    causes: list[Envelope[Any]] = uow.cache.setdefault(("causes", cause.subject), [])
    causes.append(cause)
    uow.once(("reevaluate", cause.subject), lambda: _reevaluate(uow, causes))


async def _reevaluate(uow: UnitOfWork, causes: list[Envelope[Any]]) -> None:
    """Run the engine on the provider's whole history; publish triggers raised and cleared, each
    raised one caused by the event it follows from (``domain.cause_of``)."""
    cause = causes[-1]
    provider = cause.subject
    history = await _history(uow, provider)
    now = datetime.now(UTC)
    evaluation = domain.evaluate_provider(history, uow.framework, now.date())
    open_rows = {
        row.key: row
        for row in await uow.session.exec(
            select(RaisedTrigger).where(
                RaisedTrigger.provider == provider, col(RaisedTrigger.cleared_at).is_(None)
            )
        )
    }
    changes = domain.trigger_changes(
        evaluation.triggers,
        [domain.OpenTrigger(r.id, r.key, r.code, r.theme, r.metric) for r in open_rows.values()],
        causes=causes,
        now=now,
    )
    for raised in changes.raised:
        uow.session.add(
            RaisedTrigger(**raised.data.model_dump(exclude={"trigger_id"}), id=raised.data.trigger_id)
        )
        uow.publish(raised)
    for cleared in changes.cleared:
        open_rows[cleared.data.key].cleared_at = now
        uow.publish(cleared)
    await _publish_scores(uow, evaluation.scores, cause, now)


async def _publish_scores(
    uow: UnitOfWork, scores: MetricScores | None, cause: Envelope[Any], now: datetime
) -> None:
    if scores is None:
        return  # not a scored framework: nothing to compare, so no read on every event
    stored = await uow.session.get(ProviderMetricScores, cause.subject)
    last = (
        MetricScores(
            metrics=stored.metric_scores,
            mean=stored.mean_score,
            in_financial_deficit=stored.in_financial_deficit,
        )
        if stored is not None and stored.framework == uow.framework.id
        else None
    )
    event = domain.scores_calculated(scores, last, uow.framework, cause=cause, now=now)
    if event is None:
        return
    if stored is None:
        stored = ProviderMetricScores(provider=cause.subject, framework=uow.framework.id)
        uow.session.add(stored)
    stored.framework = event.data.framework
    stored.metric_scores = dict(event.data.metric_scores)
    stored.mean_score = event.data.mean_score
    stored.in_financial_deficit = event.data.in_financial_deficit
    stored.calculated_at = now
    uow.publish(event)
