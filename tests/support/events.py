"""Valid events for tests that feed consumers directly: triggers, a need, an evaluated metric, a
segment decision and a draft package."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from oversight_contracts import (
    Actor,
    IcsViewTaken,
    MetricEvaluated,
    MetricEvaluatedData,
    SegmentDecidedV2,
    SegmentDecidedV2Data,
    SupportNeedIdentifiedV2,
    SupportNeedIdentifiedV2Data,
    SupportPackageProposed,
    SupportPackageProposedData,
    Theme,
    TriggerClearedV2,
    TriggerClearedV2Data,
    TriggerRaised,
    TriggerRaisedData,
    TriggerRaisedV2,
    TriggerRaisedV2Data,
)
from oversight_runtime.reference import load_registry

REGISTRY = load_registry()


def trigger_raised(
    provider: str, *, evidence: str = "test trigger", subject: str | None = None
) -> TriggerRaised:
    """A material-concern trigger about ``provider``, keyed to ``subject`` (the provider if unset)."""
    return TriggerRaised.new(
        source="metrics",
        subject=subject or provider,
        data=TriggerRaisedData(
            trigger_id=uuid4(),
            provider=provider,
            code="material_concern",
            theme=Theme.STRATEGIC_CHANGE,
            evidence=evidence,
            source="test",
            framework_paragraph="para 24",
            raised_at=datetime.now(UTC),
        ),
    )


def package_proposed(provider: str, theme: Theme, *, summary: str = "test package") -> SupportPackageProposed:
    """A draft support package for a need of ``provider``, addressed as the registry says."""
    record = REGISTRY.provider(provider)
    return SupportPackageProposed.new(
        source="support-coordination",
        subject=provider,
        data=SupportPackageProposedData(
            package_id=uuid4(),
            need_id=uuid4(),
            provider=provider,
            provider_name=record.name,
            theme=theme,
            status="draft",
            icbs=list(record.icbs),
            region=record.region,
            summary=summary,
            proposed_at=datetime.now(UTC),
        ),
    )


def operational_trigger(
    provider: str, metric: str, *, code: str = "operational_standard_failed"
) -> TriggerRaisedV2:
    """An operational standard failed by ``provider`` on ``metric``, as metrics raises it."""
    return TriggerRaisedV2.new(
        source="metrics",
        subject=provider,
        data=TriggerRaisedV2Data(
            trigger_id=uuid4(),
            provider=provider,
            code=code,
            theme=Theme.OPERATIONAL_PERFORMANCE,
            metric=metric,
            evidence=f"{metric} below its standard for two consecutive months",
            source="returns",
            framework_paragraph="para 46",
            raised_at=datetime.now(UTC),
            key=f"{code}:{metric}",
        ),
    )


def trigger_cleared(raised: TriggerRaisedV2) -> TriggerClearedV2:
    """``raised`` cleared, as metrics clears it."""
    data = raised.data
    return TriggerClearedV2.new(
        source="metrics",
        subject=data.provider,
        data=TriggerClearedV2Data(
            trigger_id=data.trigger_id,
            provider=data.provider,
            code=data.code,
            theme=data.theme,
            metric=data.metric,
            key=data.key or data.code,
            reason="the standard is met again",
            cleared_at=datetime.now(UTC),
        ),
    )


def need_identified(*triggers: TriggerRaisedV2) -> SupportNeedIdentifiedV2:
    """The support need segmentation identifies from ``triggers`` (one provider, one theme)."""
    first = triggers[0].data
    return SupportNeedIdentifiedV2.new(
        source="segmentation",
        subject=first.provider,
        data=SupportNeedIdentifiedV2Data(
            need_id=uuid4(),
            provider=first.provider,
            theme=first.theme,
            trigger_ids=[t.data.trigger_id for t in triggers],
            trigger_codes=[t.data.code for t in triggers],
            reason="; ".join(t.data.evidence for t in triggers),
            identified_at=datetime.now(UTC),
        ),
    )


def metric_evaluated(
    provider: str, metric: str, period: str, value: float, *, revised: bool = False
) -> MetricEvaluated:
    """A metric's value for a period, as metrics evaluates a return."""
    return MetricEvaluated.new(
        source="metrics",
        subject=provider,
        data=MetricEvaluatedData(
            submission_id=uuid4(),
            provider=provider,
            metric=metric,
            period=period,
            value=value,
            revised=revised,
        ),
    )


def segment_decided(provider: str, segment: int, previous: int | None = None) -> SegmentDecidedV2:
    """The regional decider of ``provider``'s region puts it in ``segment``."""
    record = REGISTRY.provider(provider)
    decider = Actor(
        user_id=f"{record.region.lower()}.decider",
        name="A decider",
        organisation=record.region,
        role="regional_decider",
    )
    lead = Actor(
        user_id=f"{record.icbs[0].lower()}.lead", name="A lead", organisation=record.icbs[0], role="ics_lead"
    )
    now = datetime.now(UTC)
    return SegmentDecidedV2.new(
        source="segmentation",
        subject=provider,
        data=SegmentDecidedV2Data(
            decision_id=uuid4(),
            provider=provider,
            segment=segment,
            previous_segment=previous,
            reason=f"segment {segment} on the evidence",
            actor=decider,
            ics_views=[
                IcsViewTaken(
                    view_id=UUID(int=segment), icb=record.icbs[0], view="agreed", actor=lead, recorded_at=now
                )
            ],
            decided_at=now,
        ),
    )
