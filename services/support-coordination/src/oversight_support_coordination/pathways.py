"""A package's default exit criteria from the segment proposal's pathway, free of I/O.

Issue 11 and seed 001 ask for a clear pathway out: by default a package is done when the
pathway steps that clear the triggers behind its needs are done. Segmentation publishes the
pathway with every proposal (``segment.proposed``): one step per trigger, naming the trigger's
key (``code:metric``, ``code:category``, ``code:theme`` or ``code``) and what would clear it
(the pack's ``clears_when``), then a step clearing them all, then steps no trigger clears
(licence compliance, leaving special measures), which need a person's judgement.

A package addresses one theme, so its criteria are the pathway's single-trigger steps whose
trigger is under that theme; the step clearing every trigger adds nothing the single steps do
not say, and the steps without triggers belong to the segment, not to one theme's package.
Which theme a key is under is the framework pack's to say (``theme_of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from oversight_contracts import PathwayStepV2, Theme
from oversight_contracts.frameworks import FrameworkPack
from oversight_support_coordination.lifecycle import ExitCriterion

#: Where criteria drafted from the triggers behind a need say they came from.
FROM_TRIGGERS = "the triggers behind the need (no segment proposal yet)"


def theme_of(pack: FrameworkPack, key: str) -> Theme | None:
    """The theme of the trigger with ``key``: its metric's, its exception report category's or
    its concern's theme, else its rule's fixed theme; None for a code the pack does not know."""
    code, _, qualifier = key.partition(":")
    if qualifier in pack.metrics:
        return pack.metrics[qualifier].theme
    if qualifier in {t.value for t in Theme}:
        return Theme(qualifier)
    categories = {category.value: rule.theme for category, rule in pack.exception_reports.items()}
    if qualifier in categories:
        return categories[qualifier]
    rule = pack.triggers.get(code)
    if rule is None:
        return None
    return rule.theme or rule.metrics_theme


def criteria_from_pathway(
    pathway: Sequence[PathwayStepV2], theme: Theme, pack: FrameworkPack, *, proposal_id: UUID
) -> tuple[ExitCriterion, ...]:
    """The exit criteria a package under ``theme`` takes from a proposal's pathway: each step
    clearing one trigger under the theme, worded as the pathway words it."""
    return tuple(
        ExitCriterion(
            step.action,
            tuple(step.clears),
            f"pathway of segment proposal {proposal_id} ({step.source})",
        )
        for step in pathway
        if len(step.clears) == 1 and theme_of(pack, step.clears[0]) == theme
    )
