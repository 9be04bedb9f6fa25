"""A package's default exit criteria from the segment proposal's pathway (seed 001: a clear
pathway out), and when monitoring may set them on a draft."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import pytest

from oversight_contracts import PackageStatus, PathwayStepV2, Theme
from oversight_contracts.frameworks import load_pack
from oversight_support_coordination.lifecycle import (
    MONITORING,
    ChangeType,
    ExitCriterion,
    PackagePlan,
    PackageState,
    follow_pathway,
)
from oversight_support_coordination.pathways import FROM_TRIGGERS, criteria_from_pathway, theme_of

PACK = load_pack("nof-2019")
PROPOSAL = UUID(int=7)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AE = "operational_standard_failed:op_ae_4hr_pct"
REPORT = "exception_report:reporting_non_compliance"


@pytest.mark.parametrize(
    ("key", "theme"),
    [
        (AE, Theme.OPERATIONAL_PERFORMANCE),  # code:metric, the metric's theme
        (REPORT, Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY),  # code:category, the category's
        ("material_concern:quality_of_care", Theme.QUALITY_OF_CARE),  # code:theme
        ("cqc_rating", Theme.QUALITY_OF_CARE),  # code alone, the rule's fixed theme
        ("finance_score", Theme.FINANCE_AND_USE_OF_RESOURCES),
        ("not_a_trigger", None),  # raised under another pack: no theme, so no criterion
    ],
)
def test_a_trigger_key_is_under_the_theme_the_pack_gives_it(key: str, theme: Theme | None) -> None:
    assert theme_of(PACK, key) == theme


def _step(action: str, *clears: str, source: str = "para 48") -> PathwayStepV2:
    return PathwayStepV2(action=action, clears=list(clears), segment_after=1, source=source)


#: As segmentation words a pathway: a step per trigger, one clearing them all, then one no
#: trigger clears (``oversight_engine.segments.pathway``).
PATHWAY = [
    _step("A&E 4-hour standard met for two months (clears operational_standard_failed)", AE),
    _step("The workforce return is sent (clears exception_report)", REPORT, source="para 21"),
    _step("Clear every trigger above", AE, REPORT, source="Table 2"),
    _step("Return to licence compliance", source="Table 2; para 26"),
]


def test_a_package_takes_the_steps_clearing_its_themes_triggers() -> None:
    criteria = criteria_from_pathway(PATHWAY, Theme.OPERATIONAL_PERFORMANCE, PACK, proposal_id=PROPOSAL)
    assert criteria == (
        ExitCriterion(PATHWAY[0].action, (AE,), f"pathway of segment proposal {PROPOSAL} (para 48)"),
    ), "not the other theme's step, the step clearing all, or the one no trigger clears"


def test_a_theme_the_pathway_does_not_touch_gets_no_criteria() -> None:
    assert criteria_from_pathway(PATHWAY, Theme.QUALITY_OF_CARE, PACK, proposal_id=PROPOSAL) == ()


FROM_NEED = (
    ExitCriterion(
        "The operational standard failed trigger has cleared", ("operational_standard_failed",), FROM_TRIGGERS
    ),
)
NEW = criteria_from_pathway(PATHWAY, Theme.OPERATIONAL_PERFORMANCE, PACK, proposal_id=PROPOSAL)


def _draft(criteria: tuple[ExitCriterion, ...], status: PackageStatus = PackageStatus.DRAFT) -> PackageState:
    return PackageState("RJ2", ("QKK",), "Y56", status=status, plan=PackagePlan(exit_criteria=criteria))


def test_a_drafts_default_criteria_follow_the_pathway_recorded_as_monitorings_edit() -> None:
    state, changes = follow_pathway(_draft(FROM_NEED), NEW, now=NOW, reason="a new proposal")
    assert state.plan.exit_criteria == NEW
    [change] = changes
    assert (change.type, change.actor, change.reason) == (ChangeType.EDITED, MONITORING, "a new proposal")
    assert change.details == {"fields": "exit_criteria"}


@pytest.mark.parametrize(
    "state",
    [
        _draft((replace(FROM_NEED[0], source=""),)),  # the teams wrote one: their words stay
        _draft(FROM_NEED, PackageStatus.PROPOSED),  # put forward: what is signed is not rewritten
        _draft(FROM_NEED, PackageStatus.AGREED),
        _draft(NEW),  # already following this pathway
    ],
    ids=["teams-wrote-one", "proposed", "agreed", "unchanged"],
)
def test_the_pathway_leaves_alone_what_it_must_not_rewrite(state: PackageState) -> None:
    assert follow_pathway(state, NEW, now=NOW, reason="r") == (state, [])


def test_a_pathway_with_nothing_for_the_theme_leaves_the_defaults() -> None:
    state = _draft(FROM_NEED)
    assert follow_pathway(state, (), now=NOW, reason="r") == (state, [])
