"""Segmentation's one shared flow: re-run the segment rules for a provider after any change.

Every handler ends with ``propose_later`` (once per provider per batch), the regional team's
decision in the API with ``propose_for``: it loads what the rules read (active triggers, facts,
the current decision, scores, the latest proposal), asks the domain for a proposal, and stores
and publishes it when it changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from sqlmodel import col, select

from oversight_contracts import Envelope, Theme
from oversight_contracts.scenario import MetricScores, ProviderFacts, Trigger
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_segmentation import domain
from oversight_segmentation.storage import (
    NeedTrigger,
    SegmentationFacts,
    SegmentationScores,
    SegmentDecision,
    SegmentProposal,
)


async def _scores(uow: UnitOfWork, provider: str) -> MetricScores | None:
    """The provider's scores if they were calculated under the active framework."""
    record = await uow.session.get(SegmentationScores, provider)
    if record is None or record.framework != uow.framework.id:
        return None
    return MetricScores(
        metrics=record.metric_scores, mean=record.mean_score, in_financial_deficit=record.in_financial_deficit
    )


def propose_later(uow: UnitOfWork, cause: Envelope[Any]) -> None:
    """Re-propose once, after the batch's last event about the provider: the proposal follows
    from the provider's state, so only the state after the batch needs one."""
    uow.once(("propose", cause.subject), lambda: propose_for(uow, cause))


async def propose_for(uow: UnitOfWork, cause: Envelope[Any]) -> None:
    """Re-run the segment rules for the provider; store and publish a changed proposal."""
    provider = cause.subject
    session = uow.session
    await session.flush()
    active = await session.exec(
        select(NeedTrigger).where(NeedTrigger.provider == provider, col(NeedTrigger.cleared_at).is_(None))
    )
    triggers = [
        Trigger(
            code=t.code,
            theme=Theme(t.theme),
            metric=t.metric,
            evidence=t.evidence,
            source=t.framework_paragraph,
            key=t.key,
            cause_for_concern=t.cause_for_concern,
        )
        for t in active
    ]
    facts_row = await session.get(SegmentationFacts, provider)
    decided = (
        await session.exec(
            select(SegmentDecision)
            .where(SegmentDecision.provider == provider)
            .order_by(col(SegmentDecision.decided_at).desc())
            .limit(1)
        )
    ).first()
    facts = ProviderFacts.model_validate(
        {**(facts_row.facts if facts_row else {}), "current_segment": decided.segment if decided else None}
    )
    latest = (
        await session.exec(
            select(SegmentProposal)
            .where(SegmentProposal.provider == provider)
            .order_by(col(SegmentProposal.proposed_at).desc())
            .limit(1)
        )
    ).first()
    scores = await _scores(uow, provider)
    proposed = domain.propose_segment(
        uow.framework,
        triggers,
        facts,
        scores,
        latest=domain.LatestProposal(
            latest.proposed_segment,
            latest.decision_timing,
            frozenset(latest.trigger_keys),
            latest.mean_score,
            latest.review_date,
        )
        if latest
        else None,
        proposal_id=uuid4(),
        cause=cause,
        now=datetime.now(UTC),
    )
    if proposed is not None:
        data = proposed.data.model_dump(mode="json")
        session.add(
            SegmentProposal(
                id=proposed.data.proposal_id,
                **{
                    k: v
                    for k, v in data.items()
                    if k not in {"proposal_id", "provider", "proposed_at", "review_date"}
                },
                provider=provider,
                review_date=proposed.data.review_date,
                mean_score=scores.mean if scores is not None else None,
                proposed_at=proposed.data.proposed_at,
            )
        )
        uow.publish(proposed)
