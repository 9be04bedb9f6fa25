"""From triggers to a segment proposal (Table 2), its timing (para 31) and the pathway out.

A proposal is never a decision: the regional team decides, having regard to the ICS's view
(para 27). The pathway is what the trust and its ICS asked for (seed 001): for each trigger, what
would clear it and which segment the same rules would then propose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from oversight_contracts.codes import Theme
from oversight_contracts.frameworks import FrameworkPack, SegmentCondition, SegmentRule
from oversight_contracts.scenario import MetricScores, PathwayStep, ProviderFacts, Trigger

LICENCE_BREACHES = ("suspected_breach", "breach")


@dataclass(frozen=True)
class Position:
    """Everything the segment rules read."""

    triggers: tuple[Trigger, ...]
    facts: ProviderFacts
    scores: MetricScores | None = None

    @property
    def support_needs(self) -> dict[Theme, bool]:
        themes = {t.theme for t in self.triggers}
        return {theme: theme in themes for theme in Theme}

    @property
    def special_measures(self) -> bool:
        return self.facts.special_measures not in (None, "none")

    def without(self, keys: set[str]) -> Position:
        return replace(self, triggers=tuple(t for t in self.triggers if t.key not in keys))


@dataclass(frozen=True)
class Proposal:
    segment: int
    rule: SegmentRule
    reasons: list[str]


def _holds(condition: SegmentCondition, position: Position) -> bool:
    licence = position.facts.licence or "compliant"
    checks = [
        condition.special_measures is None or condition.special_measures == position.special_measures,
        condition.support_need is None or condition.support_need == any(position.support_needs.values()),
        condition.licence is None or licence in condition.licence,
        condition.intensive_support is None
        or condition.intensive_support == bool(position.facts.intensive_support),
    ]
    return all(checks)


def propose(pack: FrameworkPack, position: Position) -> Proposal:
    segmentation = pack.segmentation
    if segmentation.method == "triggers":
        rule = next(r for r in segmentation.rules if _holds(r.when, position))
        return Proposal(rule.segment, rule, [_describe(rule, position)])
    return _propose_scored(pack, position)


def _describe(rule: SegmentRule, position: Position) -> str:
    needs = sorted({t.theme.value.replace("_", " ") for t in position.triggers})
    facts = position.facts
    parts = [f"Segment {rule.segment} ({rule.name}), {rule.source}:"]
    if rule.when.special_measures:
        parts.append(f"in special measures ({facts.special_measures})")
    elif needs:
        parts.append(f"potential support need under {', '.join(needs)}")
        licence = facts.licence or "compliant"
        parts.append(
            f"and licence {licence.replace('_', ' ')}"
            + (" (licence status not given: treated as compliant)" if facts.licence is None else "")
        )
    else:
        parts.append("no trigger of potential support need in any of the five themes")
    return " ".join(parts)


def _propose_scored(pack: FrameworkPack, position: Position) -> Proposal:
    segmentation = pack.segmentation
    scored = segmentation.scored
    assert scored is not None
    for rule in segmentation.rules:
        if rule.when != SegmentCondition() and _holds(rule.when, position):
            return Proposal(rule.segment, rule, [f"Segment {rule.segment} ({rule.name}), {rule.source}"])
    scores = position.scores
    reasons = []
    if scores is None or scores.mean is None:
        segment = 2
        reasons.append(f"No scored metrics: segment 2 by default ({scored.source})")
    else:
        segment = next((s for s, bound in enumerate(scored.upper_bounds, start=1) if scores.mean <= bound), 4)
        reasons.append(
            f"Mean metric score {scores.mean:.2f} over {len(scores.metrics)} metrics gives segment {segment} "
            f"(upper bounds {', '.join(f'{b:.2f}' for b in scored.upper_bounds)}; {scored.source})"
        )
    # The floor holds even when no metric could be scored (a deficit given as a fact).
    in_deficit = (
        scores.in_financial_deficit if scores is not None else bool(position.facts.in_financial_deficit)
    )
    if in_deficit and segment < scored.deficit_floor_segment:
        segment = scored.deficit_floor_segment
        reasons.append(f"In financial deficit: no better than segment {segment} ({scored.source})")
    return Proposal(segment, segmentation.rule_for(segment), reasons)


# --- timing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    timing: str
    review_date: date | None
    reason: str | None


def decision_timing(pack: FrameworkPack, proposal: Proposal, position: Position, as_of: date) -> Timing:
    """Para 31: a segment-1 provider's change of segment waits for the quarterly review, unless
    there is cause for concern. ``next_quarterly_review`` names the first review on or after
    ``as_of``: on a review day, that day's review (``review_date`` is ``as_of``)."""
    review = pack.segmentation.quarterly_review
    current = position.facts.current_segment
    if review is None or current != review.segment or proposal.segment == current:
        return Timing("immediate", None, None)
    concerns = [t.code for t in position.triggers if t.cause_for_concern]
    if position.special_measures:
        concerns.append("special measures")
    if concerns:
        return Timing(
            "immediate",
            None,
            f"Segment {current} provider, but {', '.join(dict.fromkeys(concerns))} is cause for concern: "
            f"decide now rather than at the quarterly review ({review.source})",
        )
    review_date = next_review(as_of, review.review_months)
    waits = "is decided at today's" if review_date == as_of else "waits for the"
    return Timing(
        "next_quarterly_review",
        review_date,
        f"Segment {current} provider with no cause for concern: a change of segment {waits} "
        f"quarterly review on {review_date} ({review.source})",
    )


def next_review(as_of: date, review_months: Sequence[int]) -> date:
    """The first review day (a review month's first day) on or after ``as_of``.

    On a review day itself that day's review is the one: a change proposed on 1 October is
    decided at the 1 October review, not held back to January (para 31).
    """
    year = as_of.year
    while True:
        for month in sorted(review_months):
            candidate = date(year, month, 1)
            if candidate >= as_of:
                return candidate
        year += 1


# --- pathway -------------------------------------------------------------------------------------


def pathway(pack: FrameworkPack, position: Position) -> list[PathwayStep]:
    steps = [
        PathwayStep(
            action=f"{_clears_when(pack, t)} (clears {t.code}{f' on {t.metric}' if t.metric else ''})",
            clears=[t.key],
            segment_after=propose(pack, position.without({t.key})).segment,
            source=t.source,
        )
        for t in position.triggers
    ]
    if len(position.triggers) > 1:
        cleared = position.without({t.key for t in position.triggers})
        steps.append(
            PathwayStep(
                action="Clear every trigger above",
                clears=[t.key for t in position.triggers],
                segment_after=propose(pack, cleared).segment,
                source="Table 2",
            )
        )
    if position.facts.licence in LICENCE_BREACHES:
        compliant = replace(position, facts=position.facts.model_copy(update={"licence": "compliant"}))
        steps.append(
            PathwayStep(
                action="Return to licence compliance (enforcement undertakings met)",
                clears=[],
                segment_after=propose(pack, compliant).segment,
                source="Table 2; para 26",
            )
        )
    if position.special_measures:
        left = replace(position, facts=position.facts.model_copy(update={"special_measures": "none"}))
        steps.append(
            PathwayStep(
                action="Leave special measures",
                clears=[],
                segment_after=propose(pack, left).segment,
                source="Table 2 (segment 4)",
            )
        )
    return steps


def _clears_when(pack: FrameworkPack, trigger: Trigger) -> str:
    rule = pack.triggers.get(trigger.code)
    if rule is None:  # raised under another pack version: say so rather than guess
        return f"The team reviews '{trigger.code}', which this framework pack does not define"
    metric = pack.metrics.get(trigger.metric or "")
    standard = metric.standard.describe() if metric and metric.standard else ""
    text = rule.clears_when.format(metric=metric.name if metric else "", standard=standard)
    return text[:1].upper() + text[1:]


# --- rationale -----------------------------------------------------------------------------------


def rationale(pack: FrameworkPack, position: Position, proposal: Proposal, timing: Timing) -> list[str]:
    """Why this segment: the rule that matched, the triggers by theme, the timing, and who decides."""
    lines = list(proposal.reasons)
    by_theme: dict[Theme, list[str]] = {}
    for trigger in position.triggers:
        by_theme.setdefault(trigger.theme, []).append(
            f"{trigger.code}{f' ({trigger.metric})' if trigger.metric else ''}, {trigger.source}"
        )
    for theme, items in by_theme.items():
        lines.append(f"{pack.themes[theme].name}: {'; '.join(items)}")
    if timing.reason:
        lines.append(timing.reason)
    lines.append(
        "This is a proposal: the regional team decides the segment, having regard to the views of "
        "system leaders (para 27), after considering why each trigger has arisen (para 24)."
    )
    return lines
