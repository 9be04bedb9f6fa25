"""Segmentation's event handlers: keep needs in step with triggers, then re-propose a segment
(once per provider per batch, after its last event: see ``flows.propose_later``)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlmodel import col, select

from oversight_contracts import (
    AnyMetricScoresCalculated,
    AnyProviderFactsRecorded,
    AnyTriggerCleared,
    AnyTriggerRaised,
    AnyTriggerReviewDue,
    MetricScoresCalculated,
    MetricScoresCalculatedV2,
    ProviderFactsRecorded,
    ProviderFactsRecordedV2,
    Theme,
    TriggerCleared,
    TriggerClearedV2,
    TriggerRaised,
    TriggerRaisedV2,
    TriggerReviewDue,
    TriggerReviewDueV2,
)
from oversight_contracts.scenario import FACT_FIELDS
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_segmentation import domain
from oversight_segmentation.flows import propose_later
from oversight_segmentation.storage import (
    NeedTrigger,
    SegmentationFacts,
    SegmentationScores,
    SupportNeed,
)

handlers = EventHandlers()


@handlers.on(TriggerRaised, TriggerRaisedV2)
async def record_trigger(uow: UnitOfWork, event: AnyTriggerRaised) -> None:
    """Count a trigger towards the provider's support need under its theme."""
    open_needs = await _open_needs(uow, event.data.provider)
    now = datetime.now(UTC)
    theme = event.data.theme.value
    decision = domain.assess_trigger(event, open_needs.get(theme), new_need_id=uuid4(), now=now)
    if decision.identified is not None:
        open_needs[theme] = decision.need_id
        uow.session.add(
            SupportNeed(
                id=decision.need_id,
                provider=event.data.provider,
                theme=event.data.theme.value,
                reason=decision.identified.data.reason,
                identified_at=now,
            )
        )
        await uow.session.flush()
        uow.publish(decision.identified)
    uow.session.add(
        NeedTrigger(
            trigger_id=event.data.trigger_id,
            need_id=decision.need_id,
            provider=event.data.provider,
            theme=event.data.theme.value,
            key=domain.trigger_key(event),
            metric=event.data.metric,
            cause_for_concern=event.data.cause_for_concern,
            code=event.data.code,
            evidence=event.data.evidence,
            framework_paragraph=event.data.framework_paragraph,
            raised_at=event.data.raised_at,
        )
    )
    propose_later(uow, event)


@handlers.on(TriggerCleared, TriggerClearedV2)
async def clear_trigger(uow: UnitOfWork, event: AnyTriggerCleared) -> None:
    """A cleared trigger no longer counts; a need left with none is resolved."""
    row = await uow.session.get(NeedTrigger, event.data.trigger_id)
    if row is None or row.cleared_at is not None:
        return  # never counted here (raised before this service existed) or already cleared
    now = datetime.now(UTC)
    row.cleared_at = now
    await uow.session.flush()
    still_active = (
        await uow.session.exec(
            select(NeedTrigger).where(
                NeedTrigger.need_id == row.need_id, col(NeedTrigger.cleared_at).is_(None)
            )
        )
    ).first()
    need = await uow.session.get(SupportNeed, row.need_id)
    if still_active is None and need is not None and need.status == "open":
        need.status, need.resolved_at = "resolved", now
        (await _open_needs(uow, need.provider)).pop(need.theme, None)
        uow.publish(
            domain.resolve_need(need.id, Theme(need.theme), last_cleared=row.key, cause=event, now=now)
        )
    propose_later(uow, event)


async def _open_needs(uow: UnitOfWork, provider: str) -> dict[str, UUID]:
    """The provider's open need under each theme: read once per batch, then kept up to date by
    the handlers that open and resolve needs, so a batch's triggers cost no query each."""
    key = ("open needs", provider)
    if key not in uow.cache:
        rows = await uow.session.exec(
            select(SupportNeed.theme, SupportNeed.id).where(
                SupportNeed.provider == provider, SupportNeed.status == "open"
            )
        )
        uow.cache[key] = {theme: need_id for theme, need_id in rows}
    needs: dict[str, UUID] = uow.cache[key]
    return needs


@handlers.on(ProviderFactsRecorded, ProviderFactsRecordedV2)
async def record_facts(uow: UnitOfWork, event: AnyProviderFactsRecorded) -> None:
    """Licence and special measures move segments 3 and 4 (Table 2)."""
    given = event.data.model_dump(mode="json", include=set(FACT_FIELDS), exclude_none=True)
    record = await uow.session.get(SegmentationFacts, event.data.provider)
    if record is None:
        uow.session.add(SegmentationFacts(provider=event.data.provider, facts=given))
    else:
        record.facts = {**record.facts, **given}
    propose_later(uow, event)


@handlers.on(MetricScoresCalculated, MetricScoresCalculatedV2)
async def record_scores(uow: UnitOfWork, event: AnyMetricScoresCalculated) -> None:
    """Under a scored framework the mean metric score sets the segment (NOF 2025/26)."""
    record = await uow.session.get(SegmentationScores, event.data.provider)
    if record is None:
        record = SegmentationScores(provider=event.data.provider, framework=event.data.framework)
        uow.session.add(record)
    record.framework = event.data.framework
    record.metric_scores = dict(event.data.metric_scores)
    record.mean_score = event.data.mean_score
    record.in_financial_deficit = event.data.in_financial_deficit
    propose_later(uow, event)


@handlers.on(TriggerReviewDue, TriggerReviewDueV2)
async def review_proposal(uow: UnitOfWork, event: AnyTriggerReviewDue) -> None:
    """The daily review: a quarterly review date that has come round gives a new proposal (para 31)."""
    propose_later(uow, event)
