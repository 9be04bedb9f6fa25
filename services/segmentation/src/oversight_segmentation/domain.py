"""Segmentation's rules, free of I/O.

A trigger under a theme with no open support need identifies a potential need (para 24); a
trigger under a theme whose need is already open adds evidence to it. A need resolves when every
trigger behind it has cleared. After any change the framework engine proposes a segment with its
rationale and pathway (Table 2, para 31); the regional team's decision is a separate act (para 27).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from oversight_engine import segments

from oversight_contracts import (
    Actor,
    AnyTriggerRaised,
    Envelope,
    IcsViewRecorded,
    IcsViewRecordedData,
    IcsViewTaken,
    PathwayStepV2,
    SegmentDecidedV2,
    SegmentDecidedV2Data,
    SegmentProposedV2,
    SegmentProposedV2Data,
    SupportNeedIdentifiedV2,
    SupportNeedIdentifiedV2Data,
    SupportNeedResolvedV2,
    SupportNeedResolvedV2Data,
    Theme,
)
from oversight_contracts.frameworks import FrameworkPack
from oversight_contracts.scenario import MetricScores, ProviderFacts, Trigger
from oversight_runtime.errors import Problem, Rejected

SOURCE = "segmentation"


@dataclass(frozen=True)
class NeedDecision:
    """Either a new need (with its event) or the id of the open need the trigger joins."""

    need_id: UUID
    identified: SupportNeedIdentifiedV2 | None


def trigger_key(trigger: AnyTriggerRaised) -> str:
    """The trigger's stable key; one without a key is its own condition."""
    return trigger.data.key or f"{trigger.data.code}:{trigger.data.trigger_id}"


def assess_trigger(
    trigger: AnyTriggerRaised, open_need_for_theme: UUID | None, *, new_need_id: UUID, now: datetime
) -> NeedDecision:
    if open_need_for_theme is not None:
        return NeedDecision(open_need_for_theme, None)
    data = trigger.data
    reason = (
        f"Trigger '{data.code}' under {data.theme.value.replace('_', ' ')} "
        f"({data.framework_paragraph}): {data.evidence}"
    )
    event = SupportNeedIdentifiedV2.new(
        source=SOURCE,
        subject=trigger.subject,
        cause=trigger,
        data=SupportNeedIdentifiedV2Data(
            need_id=new_need_id,
            provider=data.provider,
            theme=data.theme,
            trigger_ids=[data.trigger_id],
            trigger_codes=[data.code],
            reason=reason,
            identified_at=now,
        ),
    )
    return NeedDecision(new_need_id, event)


def resolve_need(
    need_id: UUID, theme: Theme, *, last_cleared: str, cause: Envelope[Any], now: datetime
) -> SupportNeedResolvedV2:
    return SupportNeedResolvedV2.new(
        source=SOURCE,
        subject=cause.subject,
        cause=cause,
        data=SupportNeedResolvedV2Data(
            need_id=need_id,
            provider=cause.subject,
            theme=theme,
            reason=f"Every trigger behind it has cleared; the last was {last_cleared}",
            resolved_at=now,
        ),
    )


@dataclass(frozen=True)
class LatestProposal:
    segment: int
    timing: str
    trigger_keys: frozenset[str]
    mean_score: float | None = None
    review_date: date | None = None


def propose_segment(
    pack: FrameworkPack,
    active: Sequence[Trigger],
    facts: ProviderFacts,
    scores: MetricScores | None = None,
    *,
    latest: LatestProposal | None,
    proposal_id: UUID,
    cause: Envelope[Any],
    now: datetime,
) -> SegmentProposedV2 | None:
    """A new proposal when the segment, its timing or what it rests on change; else None.

    The triggers count because the rationale and pathway name them: a proposal must not point
    the trust at a trigger that has cleared, nor miss one just raised. A quarterly review date
    that has come round moves the proposal to the review it now waits for. Under a scored framework
    the mean score is what it rests on: there is no proposal before metrics has sent the scores,
    and a changed mean is stated in a new proposal.
    """
    if pack.segmentation.method == "scored" and scores is None:
        # Scores come on their own topic, so a trigger can arrive first; a proposal then would
        # be a default segment that the scores overturn a moment later.
        return None
    position = segments.Position(tuple(active), facts, scores)
    proposal = segments.propose(pack, position)
    timing = segments.decision_timing(pack, proposal, position, now.date())
    mean = scores.mean if scores is not None else None
    now_stands = LatestProposal(
        proposal.segment, timing.timing, frozenset(t.key for t in active), mean, timing.review_date
    )
    if latest == now_stands:
        return None
    return SegmentProposedV2.new(
        source=SOURCE,
        subject=cause.subject,
        cause=cause,
        data=SegmentProposedV2Data(
            proposal_id=proposal_id,
            provider=cause.subject,
            framework=pack.id,
            proposed_segment=proposal.segment,
            segment_name=proposal.rule.name,
            current_segment=facts.current_segment,
            decision_timing=timing.timing,
            review_date=timing.review_date,
            support_needs=position.support_needs,
            trigger_keys=[t.key for t in active],
            rationale=segments.rationale(pack, position, proposal, timing),
            pathway=[
                PathwayStepV2.model_validate(step.model_dump()) for step in segments.pathway(pack, position)
            ],
            proposed_at=now,
        ),
    )


@dataclass(frozen=True)
class DecisionRequest:
    provider: str
    segment: int
    reason: str
    proposal_id: UUID | None
    #: The provider of the named proposal, or None when no such proposal exists.
    proposal_provider: str | None


def _segment_problem(pack: FrameworkPack, segment: int | None, loc: tuple[str, ...]) -> list[Problem]:
    segments_in_pack = {rule.segment for rule in pack.segmentation.rules}
    if segment is None or segment in segments_in_pack:
        return []
    return [
        Problem(
            loc,
            f"segment {segment} is not a segment of {pack.id} ({sorted(segments_in_pack)})",
            "unknown_segment",
        )
    ]


def _proposal_problem(
    provider: str, proposal_id: UUID | None, proposal_provider: str | None
) -> list[Problem]:
    if proposal_id is None or proposal_provider == provider:
        return []
    return [
        Problem(
            ("body", "proposal_id"),
            f"no segment proposal {proposal_id} for provider {provider}",
            "unknown_proposal",
        )
    ]


def current_ics_views(views: Sequence[IcsViewTaken], since: datetime | None) -> list[IcsViewTaken]:
    """The views a decision has regard to: each ICB's latest, given since the provider's last
    decision (an older view answered an older question)."""
    latest: dict[str, IcsViewTaken] = {}
    for view in sorted(views, key=lambda v: v.recorded_at):
        if since is None or view.recorded_at > since:
            latest[view.icb] = view
    return sorted(latest.values(), key=lambda v: v.icb)


def record_ics_view(
    view: IcsViewTaken,
    provider: str,
    pack: FrameworkPack,
    *,
    proposal_provider: str | None,
    correlation_id: UUID,
) -> IcsViewRecorded:
    """An ICS lead's view on the provider's segmentation, for the regional team (para 27)."""
    problems = _segment_problem(pack, view.recommended_segment, ("body", "recommended_segment"))
    problems += _proposal_problem(provider, view.proposal_id, proposal_provider)
    if problems:
        raise Rejected(*problems)
    return IcsViewRecorded.new(
        source=SOURCE,
        subject=provider,
        correlation_id=correlation_id,
        data=IcsViewRecordedData(provider=provider, **view.model_dump()),
    )


def decide_segment(
    request: DecisionRequest,
    pack: FrameworkPack,
    *,
    actor: Actor,
    ics_views: Sequence[IcsViewTaken],
    previous_segment: int | None,
    decision_id: UUID,
    correlation_id: UUID,
    now: datetime,
) -> SegmentDecidedV2:
    """Record the regional team's decision; it may differ from the proposal, with a reason, and it
    has regard to the system leaders' views (para 27), so at least one must have been given."""
    problems = _segment_problem(pack, request.segment, ("body", "segment"))
    problems += _proposal_problem(request.provider, request.proposal_id, request.proposal_provider)
    if not ics_views:
        problems.append(
            Problem(
                ("path", "ods_code"),
                f"no ICS lead has given the system's view on {request.provider} since its last decision: "
                "the regional team decides having regard to system leaders' views (para 27)",
                "ics_view_missing",
            )
        )
    if problems:
        raise Rejected(*problems)
    return SegmentDecidedV2.new(
        source=SOURCE,
        subject=request.provider,
        correlation_id=correlation_id,
        data=SegmentDecidedV2Data(
            decision_id=decision_id,
            proposal_id=request.proposal_id,
            provider=request.provider,
            segment=request.segment,
            previous_segment=previous_segment,
            reason=request.reason,
            actor=actor,
            ics_views=list(ics_views),
            decided_at=now,
        ),
    )
