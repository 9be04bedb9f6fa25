"""Needs sharing an underlying cause (issue 11 point 1; seed 003 para 33): who may mark them, which
needs may be marked, which package gets the one plan item addressing them, and that item."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from oversight_contracts import PackageStatus
from oversight_runtime.access import Principal
from oversight_runtime.errors import Forbidden, Rejected
from oversight_runtime.reference import load_registry
from oversight_support_coordination.domain import (
    SHARED_CAUSE_ROLES,
    ensure_may_mark_shared_cause,
    package_for_shared_cause,
    shared_cause_item,
    shared_cause_needs,
    with_shared_cause_item,
)
from oversight_support_coordination.lifecycle import (
    ChangeType,
    PackageAction,
    PackageEdit,
    PackagePlan,
    PackageState,
    PlanItem,
    PlanItemStatus,
    SignOff,
    transition,
)

REGISTRY = load_registry()
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B, C, OTHER = UUID(int=1), UUID(int=2), UUID(int=3), UUID(int=99)
S = PackageStatus


def person(role: str, organisation: str) -> Principal:
    return Principal(
        user_id=f"{organisation.lower()}.{role}",
        name="A User",
        organisation=organisation,
        organisation_kind=REGISTRY.kind_of(organisation),
        roles=(role,),
    )


@pytest.mark.parametrize(
    ("role", "organisation", "may"),
    [
        ("ics_member", "QKK", True),
        ("ics_lead", "QKK", True),
        ("regional_member", "Y56", True),
        ("regional_decider", "Y56", True),
        ("trust_submitter", "RJ1", False),
        ("trust_viewer", "RJ1", False),
        ("national_viewer", "X24", False),
    ],
)
def test_only_the_ics_and_regional_teams_mark_a_shared_cause(role: str, organisation: str, may: bool) -> None:
    principal = person(role, organisation)
    if may:
        ensure_may_mark_shared_cause(principal)
        return
    with pytest.raises(Forbidden) as refused:
        ensure_may_mark_shared_cause(principal)
    [problem] = refused.value.problems
    assert refused.value.status_code == 403 and problem.type == "action_not_permitted"
    assert "para 33" in problem.msg and all(r in problem.msg for r in SHARED_CAUSE_ROLES)


def test_a_principal_with_no_role_may_not() -> None:
    with pytest.raises(Forbidden):
        ensure_may_mark_shared_cause(replace(person("ics_member", "QKK"), roles=()))


CASE = {A: False, B: False, C: True}  # need id -> resolved


@pytest.mark.parametrize(
    ("requested", "named"),
    [
        ([A, B], (A, B)),
        ([B, A], (B, A)),  # the order given: the first named leads
        ([A, B, A], (A, B)),  # a need named twice counts once
    ],
)
def test_the_needs_named(requested: list[UUID], named: tuple[UUID, ...]) -> None:
    assert shared_cause_needs(requested, CASE) == named


@pytest.mark.parametrize(
    ("requested", "problems"),
    [
        ([A, OTHER], [(("body", "need_ids", 1), "unknown_need")]),
        ([C, A], [(("body", "need_ids", 0), "need_resolved")]),
        ([OTHER, C], [(("body", "need_ids", 0), "unknown_need"), (("body", "need_ids", 1), "need_resolved")]),
        ([A, A], [(("body", "need_ids"), "too_few_needs")]),
        ([A], [(("body", "need_ids"), "too_few_needs")]),
    ],
)
def test_needs_that_cannot_share_a_cause_are_refused_by_name(
    requested: list[UUID], problems: list[tuple[tuple[str | int, ...], str]]
) -> None:
    with pytest.raises(Rejected) as refused:
        shared_cause_needs(requested, CASE)
    assert [(p.loc, p.type) for p in refused.value.problems] == problems


@pytest.mark.parametrize(
    ("statuses", "lead"),
    [
        ({A: S.DRAFT, B: S.DRAFT}, A),
        ({A: S.PROPOSED, B: S.DRAFT}, A),
        ({A: S.AGREED, B: S.PROPOSED}, B),  # an agreed package is not rewritten
        ({A: S.IN_DELIVERY, B: S.ESCALATED}, B),  # escalated: being re-planned
        ({B: S.DRAFT}, B),  # no package for A
    ],
)
def test_the_item_goes_to_the_first_named_need_whose_package_can_be_edited(
    statuses: dict[UUID, PackageStatus], lead: UUID
) -> None:
    assert package_for_shared_cause((A, B), statuses) == lead


def test_no_package_can_take_the_item() -> None:
    with pytest.raises(Rejected) as refused:
        package_for_shared_cause((A, B), {A: S.AGREED, B: S.EXITED})
    [problem] = refused.value.problems
    assert problem.loc == ("body", "need_ids") and problem.type == "no_editable_package"
    assert "draft, proposed, escalated" in problem.msg


def test_one_item_addresses_every_need_and_is_the_same_item_whatever_the_order() -> None:
    item = shared_cause_item((A, B), "Patient flow out of the hospital", owner="Y56")
    assert item.action == "Address the shared cause: Patient flow out of the hospital"
    assert item.needs == (A, B) and item.owner == "Y56" and item.offer is None and item.peer is None
    assert shared_cause_item((B, A), "reworded", owner="Y56").id == item.id
    assert shared_cause_item((A, C), "another cause", owner="Y56").id != item.id


DRAFTED = PlanItem(UUID(int=50), "Emergency Care Improvement Programme", (A,), "Y56", "ecip")


def test_the_item_is_added_or_rewritten_in_place() -> None:
    first = shared_cause_item((A, B), "flow", owner="Y56")
    items = with_shared_cause_item((DRAFTED,), first)
    assert items == (DRAFTED, first)
    # The teams gave it a due date and started it; marking again rewords it and keeps those.
    started = replace(first, due=date(2027, 3, 1), status=PlanItemStatus.IN_PROGRESS)
    again = with_shared_cause_item((DRAFTED, started), shared_cause_item((B, A), "discharge", owner="Y56"))
    assert again == (DRAFTED, replace(started, action="Address the shared cause: discharge", needs=(B, A)))


def test_marking_a_shared_cause_is_an_edit_that_withdraws_a_sign_off() -> None:
    state = PackageState(
        "RJ1",
        ("QKK",),
        "Y56",
        status=S.PROPOSED,
        plan=PackagePlan(problem_statement="Flow", plan_items=(DRAFTED,)),
        sign_offs=(SignOff("region", "Y56", "y56.regional_decider", NOW),),
    )
    item = shared_cause_item((A, B), "flow", owner="Y56")
    edit = PackageEdit(plan_items=with_shared_cause_item(state.plan.plan_items, item))
    outcome = transition(
        state, PackageAction.EDIT, person("ics_member", "QKK"), now=NOW, reason="shared cause", edit=edit
    )
    assert outcome.state.plan.plan_items == (DRAFTED, item) and outcome.state.sign_offs == ()
    assert [c.type for c in outcome.changes] == [ChangeType.EDITED, ChangeType.SIGN_OFF_WITHDRAWN]
    # The same marking again changes nothing and records nothing.
    repeat = PackageEdit(plan_items=with_shared_cause_item(outcome.state.plan.plan_items, item))
    again = transition(outcome.state, PackageAction.EDIT, person("ics_member", "QKK"), now=NOW, edit=repeat)
    assert again.changes == []
