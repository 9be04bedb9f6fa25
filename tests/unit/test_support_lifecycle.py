"""A support package's lifecycle: every (status, action) cell, the sign-off rules and exit criteria
(monitoring's own rules: test_support_monitoring).

The table below is the specification, written out by hand; ``lifecycle.ALLOWED`` is what the
service runs on. Each cell is one test: an allowed action gives the status shown, a refused one
raises ``Rejected`` naming the status and what it allows, and leaves the package as it was.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from oversight_contracts import Actor, PackageStatus
from oversight_contracts.frameworks import Direction
from oversight_runtime.access import Principal
from oversight_runtime.errors import Forbidden, Rejected
from oversight_runtime.reference import load_registry
from oversight_support_coordination.lifecycle import (
    ALLOWED,
    MONITORING,
    WHO,
    ChangeType,
    ExitCriterion,
    Kpi,
    Milestone,
    Outcome,
    PackageAction,
    PackageEdit,
    PackagePlan,
    PackageState,
    PlanItem,
    SignOff,
    SystemActor,
    exit_criteria_met,
    transition,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
REGISTRY = load_registry()
RJ1 = REGISTRY.provider("RJ1")  # Guy's and St Thomas': ICB QKK, region Y56 (London)
RV5 = REGISTRY.provider("RV5")  # South London and Maudsley: ICBs QKK and QWE


def person(role: str, organisation: str, user: str | None = None) -> Principal:
    return Principal(
        user_id=user or f"{organisation.lower()}.{role}",
        name=f"A {role.replace('_', ' ')}",
        organisation=organisation,
        organisation_kind=REGISTRY.kind_of(organisation),
        roles=(role,),
    )


ICS_LEAD = person("ics_lead", "QKK")
ICS_MEMBER = person("ics_member", "QKK")
REGION = person("regional_decider", "Y56")
REGIONAL_MEMBER = person("regional_member", "Y56")
TRUST = person("trust_submitter", "RJ1")
TRUST_VIEWER = person("trust_viewer", "RJ1")
NATIONAL = person("national_viewer", "X24")

NEED = UUID(int=100)
PLAN = PackagePlan(
    problem_statement="A&E 4-hour performance below 78% for three months; flow out of the hospital is the cause.",
    plan_items=(
        PlanItem(
            UUID(int=1),
            "Discharge-to-assess with the ICS partners",
            (NEED,),
            "QKK",
            "ics-system-flow-support",
        ),
        PlanItem(
            UUID(int=2),
            "ECIP diagnostic of emergency flow",
            (NEED,),
            "Y56",
            "emergency-care-improvement-programme",
        ),
    ),
    offers=("emergency-care-improvement-programme", "ics-system-flow-support"),
    kpis=(
        Kpi(
            "op_ae_4hr_pct",
            Direction.HIGHER_IS_BETTER,
            (Milestone("2026-12", 76.0), Milestone("2027-01", 78.0), Milestone("2027-02", 80.0)),
        ),
    ),
    exit_criteria=(ExitCriterion("A&E 4-hour standard met", ("operational_standard_failed:op_ae_4hr_pct",)),),
    review_dates=(date(2027, 1, 15), date(2027, 4, 15)),
)


def _id(value: object) -> str:
    """A short test id for a principal or the system."""
    if isinstance(value, Principal):
        return value.user_id
    return value.name if isinstance(value, SystemActor) else str(value)


EDIT = PackageEdit(problem_statement="Flow out of the hospital and ambulance handovers are the cause.")


def sign_off(kind: str, at: datetime = NOW) -> SignOff:
    if kind == "ics":
        return SignOff("ics", "QKK", ICS_LEAD.user_id, at)
    return SignOff("region", "Y56", REGION.user_id, at)


def package(status: PackageStatus = PackageStatus.DRAFT, **values: Any) -> PackageState:
    return replace(PackageState("RJ1", RJ1.icbs, RJ1.region, status=status, plan=PLAN), **values)


S = PackageStatus
#: A package in each status, set up so that the table's sign-off lands as the second side.
IN = {
    S.DRAFT: package(),
    S.PROPOSED: package(S.PROPOSED, sign_offs=(sign_off("region"),)),
    S.AGREED: package(S.AGREED, sign_offs=(sign_off("region"), sign_off("ics")), agreed_at=NOW),
    S.IN_DELIVERY: package(S.IN_DELIVERY, agreed_at=NOW, delivery_started_at=NOW),
    S.EXIT_PROPOSED: package(S.EXIT_PROPOSED, agreed_at=NOW, delivery_started_at=NOW),
    S.ESCALATED: package(S.ESCALATED, sign_offs=(sign_off("region"),), delivery_started_at=NOW),
    S.EXITED: package(S.EXITED, delivery_started_at=NOW),
    S.WITHDRAWN: package(S.WITHDRAWN),
}
#: Someone who may take each action on RJ1's package.
BY: dict[PackageAction, Principal | SystemActor] = {
    PackageAction.EDIT: ICS_MEMBER,
    PackageAction.PROPOSE: REGIONAL_MEMBER,
    PackageAction.SIGN_OFF: ICS_LEAD,
    PackageAction.ACKNOWLEDGE: TRUST,
    PackageAction.COMMENT: TRUST_VIEWER,
    PackageAction.START_DELIVERY: ICS_LEAD,
    PackageAction.PROPOSE_EXIT: MONITORING,
    PackageAction.DECLINE_EXIT: REGION,
    PackageAction.CONFIRM_EXIT: REGION,
    PackageAction.WITHDRAW: REGION,
    PackageAction.ESCALATE: MONITORING,
}

# The status an action leads to from each status; ".": the status does not allow it.
TABLE = """
status         edit       propose   sign_off     acknowledge  comment        start_delivery  propose_exit   decline_exit  confirm_exit  withdraw   escalate
draft          draft      proposed  .            .            draft          .               .              .             .             withdrawn  .
proposed       proposed   .         agreed       .            proposed       .               .              .             .             withdrawn  .
agreed         .          .         .            agreed       agreed         in_delivery     .              .             .             withdrawn  escalated
in_delivery    .          .         .            in_delivery  in_delivery    .               exit_proposed  .             .             .          escalated
exit_proposed  .          .         .            .            exit_proposed  .               .              in_delivery   exited        .          escalated
escalated      escalated  .         in_delivery  .            escalated      .               .              .             .             withdrawn  .
exited         .          .         .            .            exited         .               .              .             .             .          .
withdrawn      .          .         .            .            withdrawn      .               .              .             .             .          .
"""


def _table() -> dict[tuple[PackageStatus, PackageAction], PackageStatus | None]:
    header, *rows = [line.split() for line in TABLE.strip().splitlines()]
    return {
        (S(row[0]), PackageAction(action)): None if cell == "." else S(cell)
        for row in rows
        for action, cell in zip(header[1:], row[1:], strict=True)
    }


EXPECTED = _table()


def _allowed_in(status: PackageStatus) -> list[str]:
    return [action for (s, action), to in EXPECTED.items() if s == status and to is not None]


def act(
    state: PackageState,
    action: PackageAction,
    actor: Principal | SystemActor | None = None,
    *,
    reason: str | None = "the reason given",
    edit: PackageEdit | None = EDIT,
) -> Outcome:
    return transition(state, action, actor or BY[action], now=LATER, reason=reason, edit=edit)


def test_the_table_covers_every_status_and_action() -> None:
    assert len(EXPECTED) == len(PackageStatus) * len(PackageAction)
    assert set(IN) == set(PackageStatus)
    assert set(BY) == set(WHO) == set(PackageAction)


def test_the_table_is_what_the_service_runs_on() -> None:
    for status in PackageStatus:
        assert sorted(ALLOWED[status]) == sorted(_allowed_in(status)), status


@pytest.mark.parametrize(("status", "action"), sorted(EXPECTED), ids=lambda v: str(v))
def test_cell(status: PackageStatus, action: PackageAction) -> None:
    before = IN[status]
    expected = EXPECTED[(status, action)]
    if expected is not None:
        state, changes = act(before, action)
        assert state.status == expected
        assert changes, "every allowed act is recorded"
        assert changes[0].status_from == status
        assert changes[-1].status_to == expected
        assert all(c.at == LATER for c in changes)
        assert changes[0].reason == "the reason given"
        if expected != status:
            assert state.status_changed_at == LATER
        return
    with pytest.raises(Rejected) as refused:
        act(before, action)
    (problem,) = refused.value.problems
    assert problem.loc == ("body", "action")
    assert problem.type == "action_not_allowed"
    assert f"cannot {action}: package is {status}; allowed: " in problem.msg
    assert problem.msg.endswith(", ".join(ALLOWED[status]))
    assert IN[status] == before  # nothing changed


def test_the_message_reads_as_the_domain_says_it() -> None:
    with pytest.raises(Rejected, match=r"package is agreed; allowed: acknowledge, comment, start_delivery, "):
        act(IN[S.AGREED], PackageAction.CONFIRM_EXIT, REGION)


# --- agreement: the ICS and the region sign off ----------------------------------------------


@pytest.mark.parametrize("order", [(ICS_LEAD, REGION), (REGION, ICS_LEAD)], ids=["ics_first", "region_first"])
def test_agreement_needs_both_sign_offs_in_either_order(order: tuple[Principal, Principal]) -> None:
    first, second = order
    state, changes = act(package(S.PROPOSED), PackageAction.SIGN_OFF, first)
    assert state.status == S.PROPOSED
    assert [c.type for c in changes] == [ChangeType.SIGNED_OFF]
    state, changes = act(state, PackageAction.SIGN_OFF, second)
    assert state.status == S.AGREED
    assert state.agreed_at == LATER
    assert state.signed_by() == {"ics", "region"}
    assert [c.type for c in changes] == [ChangeType.SIGNED_OFF, ChangeType.AGREED]
    assert changes[-1].actor == Actor(
        user_id=second.user_id, name=second.name, organisation=second.organisation, role=second.roles[0]
    )


def test_any_of_a_shared_trusts_icbs_may_sign_for_the_system() -> None:
    rv5 = PackageState("RV5", RV5.icbs, RV5.region, S.PROPOSED, PLAN, sign_offs=(sign_off("region"),))
    state, _ = act(rv5, PackageAction.SIGN_OFF, person("ics_lead", "QWE"))
    assert state.status == S.AGREED


def test_two_ics_sign_offs_are_not_agreement() -> None:
    state, _ = act(package(S.PROPOSED), PackageAction.SIGN_OFF, ICS_LEAD)
    state, _ = act(state, PackageAction.SIGN_OFF, person("ics_lead", "QKK", user="qkk.lead2"))
    assert state.status == S.PROPOSED
    assert len(state.sign_offs) == 2


def test_signing_off_twice_changes_nothing() -> None:
    once, _ = act(package(S.PROPOSED), PackageAction.SIGN_OFF, ICS_LEAD)
    again = act(once, PackageAction.SIGN_OFF, ICS_LEAD)
    assert again == (once, [])


def test_the_acting_role_is_the_one_that_may_sign() -> None:
    both = Principal("qkk.both", "B", "QKK", "icb", ("ics_member", "ics_lead"))
    _, (change,) = act(package(S.PROPOSED), PackageAction.SIGN_OFF, both)
    assert isinstance(change.actor, Actor) and change.actor.role == "ics_lead"
    assert change.details == {"role_kind": "ics", "organisation": "QKK"}


@pytest.mark.parametrize(
    ("actor", "type_", "says"),
    [
        (person("ics_lead", "QMF"), "out_of_scope", "QKK"),  # not one of RJ1's ICBs
        (person("regional_decider", "Y58"), "out_of_scope", "Y56"),  # not RJ1's region
        (ICS_MEMBER, "action_not_permitted", "ics_lead or regional_decider"),
        (REGIONAL_MEMBER, "action_not_permitted", "ics_lead or regional_decider"),
        (TRUST, "action_not_permitted", "ics_lead or regional_decider"),
        (NATIONAL, "action_not_permitted", "ics_lead or regional_decider"),
        (MONITORING, "action_not_permitted", "ics_lead or regional_decider"),
    ],
    ids=["wrong_icb", "wrong_region", "ics_member", "regional_member", "trust", "national", "system"],
)
def test_only_the_providers_ics_lead_and_regional_decider_sign_off(
    actor: Principal | SystemActor, type_: str, says: str
) -> None:
    before = package(S.PROPOSED)
    with pytest.raises(Forbidden) as refused:
        act(before, PackageAction.SIGN_OFF, actor)
    (detail,) = refused.value.detail()
    assert detail["loc"] == ["body", "action"]
    assert detail["type"] == type_
    assert says in str(detail["msg"])
    assert before == package(S.PROPOSED)


def test_a_wrong_role_is_forbidden_before_the_status_is_read() -> None:
    """403 says who may act; only someone who may act learns what the status allows (422)."""
    with pytest.raises(Forbidden):
        act(IN[S.EXITED], PackageAction.START_DELIVERY, TRUST)


def test_a_draft_cannot_be_signed_off() -> None:
    with pytest.raises(Rejected, match="package is draft"):
        act(package(), PackageAction.SIGN_OFF, ICS_LEAD)


def test_an_incomplete_package_cannot_be_proposed_or_signed_off() -> None:
    bare = replace(package(), plan=PackagePlan(problem_statement="Flow."))
    for state, action, actor in [
        (bare, PackageAction.PROPOSE, ICS_MEMBER),
        (replace(bare, status=S.PROPOSED), PackageAction.SIGN_OFF, REGION),
    ]:
        with pytest.raises(Rejected) as refused:
            act(state, action, actor)
        locs = [p.loc for p in refused.value.problems]
        assert locs == [("package", "plan_items"), ("package", "exit_criteria"), ("package", "review_dates")]


# --- editing --------------------------------------------------------------------------------


def test_an_edit_after_a_sign_off_withdraws_it() -> None:
    signed, _ = act(package(S.PROPOSED), PackageAction.SIGN_OFF, REGION)
    edited, changes = act(signed, PackageAction.EDIT, ICS_MEMBER)
    assert edited.status == S.PROPOSED
    assert edited.sign_offs == ()
    assert edited.plan.problem_statement == EDIT.problem_statement
    assert [c.type for c in changes] == [ChangeType.EDITED, ChangeType.SIGN_OFF_WITHDRAWN]
    assert changes[0].details == {"fields": "problem_statement"}
    assert changes[1].details == {"role_kind": "region", "organisation": "Y56", "user": REGION.user_id}
    assert "para 32" in (changes[1].reason or "")
    # The ICS signing now is one side again, not agreement.
    state, _ = act(edited, PackageAction.SIGN_OFF, ICS_LEAD)
    assert state.status == S.PROPOSED


def test_an_edit_that_changes_nothing_records_nothing_and_keeps_the_sign_offs() -> None:
    signed = package(S.PROPOSED, sign_offs=(sign_off("region"),))
    same = PackageEdit(problem_statement=PLAN.problem_statement)
    assert act(signed, PackageAction.EDIT, ICS_MEMBER, edit=same) == (signed, [])


def test_an_edit_needs_the_fields_to_change() -> None:
    with pytest.raises(Rejected) as refused:
        act(package(), PackageAction.EDIT, ICS_MEMBER, edit=None)
    assert refused.value.problems[0].loc == ("body", "edit")


@pytest.mark.parametrize("actor", [TRUST, TRUST_VIEWER, NATIONAL, MONITORING], ids=_id)
def test_the_trust_comments_on_the_plan_rather_than_editing_it(actor: Principal | SystemActor) -> None:
    with pytest.raises(Forbidden):
        act(package(), PackageAction.EDIT, actor)


# --- the trust, comments and reasons ---------------------------------------------------------


def test_the_trust_acknowledges_once() -> None:
    state, (change,) = act(IN[S.AGREED], PackageAction.ACKNOWLEDGE, TRUST)
    assert [(a.organisation, a.user) for a in state.acknowledged_by] == [("RJ1", TRUST.user_id)]
    assert change.type == ChangeType.ACKNOWLEDGED
    assert act(state, PackageAction.ACKNOWLEDGE, TRUST) == (state, [])
    state, _ = act(state, PackageAction.ACKNOWLEDGE, TRUST_VIEWER)
    assert len(state.acknowledged_by) == 2


@pytest.mark.parametrize("actor", [person("trust_submitter", "RJZ"), ICS_LEAD, REGION], ids=_id)
def test_only_the_providers_own_trust_acknowledges(actor: Principal) -> None:
    with pytest.raises(Forbidden):
        act(IN[S.AGREED], PackageAction.ACKNOWLEDGE, actor)


@pytest.mark.parametrize("status", list(PackageStatus), ids=str)
@pytest.mark.parametrize(
    "actor", [TRUST, TRUST_VIEWER, ICS_MEMBER, ICS_LEAD, REGIONAL_MEMBER, REGION], ids=_id
)
def test_everyone_overseeing_the_provider_may_comment_at_any_status(
    status: PackageStatus, actor: Principal
) -> None:
    state, (change,) = act(IN[status], PackageAction.COMMENT, actor, reason="  We can share our data.  ")
    assert state == IN[status]
    assert (change.type, change.reason) == (ChangeType.COMMENTED, "We can share our data.")


@pytest.mark.parametrize(
    "actor", [NATIONAL, person("ics_member", "QMF"), person("trust_viewer", "RJZ")], ids=_id
)
def test_no_comment_from_outside_the_providers_oversight_or_from_national_viewers(actor: Principal) -> None:
    with pytest.raises(Forbidden):
        act(IN[S.IN_DELIVERY], PackageAction.COMMENT, actor)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.DRAFT, PackageAction.COMMENT),
        (S.DRAFT, PackageAction.WITHDRAW),
        (S.AGREED, PackageAction.ESCALATE),
        (S.EXIT_PROPOSED, PackageAction.DECLINE_EXIT),
    ],
)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_change_of_course_says_why(
    status: PackageStatus, action: PackageAction, reason: str | None
) -> None:
    with pytest.raises(Rejected) as refused:
        act(IN[status], action, reason=reason)
    assert refused.value.problems[0].loc == ("body", "reason")


# --- delivery, exit and escalation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "actor"),
    [
        (PackageAction.START_DELIVERY, ICS_MEMBER),
        (PackageAction.START_DELIVERY, MONITORING),
        (PackageAction.CONFIRM_EXIT, MONITORING),
        (PackageAction.CONFIRM_EXIT, ICS_LEAD),
        (PackageAction.WITHDRAW, ICS_LEAD),
        (PackageAction.WITHDRAW, REGIONAL_MEMBER),
        (PackageAction.ESCALATE, ICS_LEAD),
        (PackageAction.PROPOSE_EXIT, ICS_LEAD),
    ],
    ids=_id,
)
def test_decisions_belong_to_their_roles(action: PackageAction, actor: Principal | SystemActor) -> None:
    status = {PackageAction.CONFIRM_EXIT: S.EXIT_PROPOSED, PackageAction.PROPOSE_EXIT: S.IN_DELIVERY}
    with pytest.raises(Forbidden):
        act(IN[status.get(action, S.AGREED)], action, actor)


def test_people_may_do_what_monitoring_does() -> None:
    assert act(IN[S.IN_DELIVERY], PackageAction.PROPOSE_EXIT, REGION)[0].status == S.EXIT_PROPOSED
    assert act(IN[S.IN_DELIVERY], PackageAction.ESCALATE, REGION)[0].status == S.ESCALATED


def test_escalation_lapses_the_agreement_until_both_sides_re_agree() -> None:
    agreed = replace(IN[S.IN_DELIVERY], sign_offs=(sign_off("ics"), sign_off("region")))
    escalated, (change,) = act(agreed, PackageAction.ESCALATE, MONITORING, reason="two missed milestones")
    assert (escalated.sign_offs, escalated.acknowledged_by) == ((), ())
    assert change.actor == MONITORING
    state, _ = act(escalated, PackageAction.EDIT, ICS_MEMBER)
    state, _ = act(state, PackageAction.SIGN_OFF, REGION)
    assert state.status == S.ESCALATED
    state, changes = act(state, PackageAction.SIGN_OFF, ICS_LEAD)
    assert state.status == S.IN_DELIVERY
    assert changes[-1].type == ChangeType.RE_AGREED


def test_monitoring_records_why_it_escalated_on_the_change() -> None:
    _state, (change,) = transition(
        IN[S.IN_DELIVERY],
        PackageAction.ESCALATE,
        MONITORING,
        now=LATER,
        reason="op_ae_4hr_pct missed its trajectory twice",
        details={"cause": "missed_milestones"},
    )
    assert (change.type, dict(change.details)) == (ChangeType.ESCALATED, {"cause": "missed_milestones"})
    _state, (by_person,) = act(IN[S.IN_DELIVERY], PackageAction.ESCALATE, REGION)
    assert dict(by_person.details) == {}


def test_a_package_escalated_before_delivery_is_agreed_again_not_delivered() -> None:
    escalated, _ = act(IN[S.AGREED], PackageAction.ESCALATE, REGION, reason="segment 3")
    state, _ = act(escalated, PackageAction.SIGN_OFF, REGION)
    state, changes = act(state, PackageAction.SIGN_OFF, ICS_LEAD)
    assert state.status == S.AGREED
    assert changes[-1].status_to == S.AGREED


def test_a_package_from_draft_to_exit() -> None:
    state = package()
    story: list[tuple[PackageAction, Principal | SystemActor, PackageStatus]] = [
        (PackageAction.PROPOSE, ICS_MEMBER, S.PROPOSED),
        (PackageAction.SIGN_OFF, REGION, S.PROPOSED),
        (PackageAction.SIGN_OFF, ICS_LEAD, S.AGREED),
        (PackageAction.ACKNOWLEDGE, TRUST, S.AGREED),
        (PackageAction.START_DELIVERY, REGION, S.IN_DELIVERY),
        (PackageAction.PROPOSE_EXIT, MONITORING, S.EXIT_PROPOSED),
        (PackageAction.DECLINE_EXIT, REGION, S.IN_DELIVERY),
        (PackageAction.PROPOSE_EXIT, MONITORING, S.EXIT_PROPOSED),
        (PackageAction.CONFIRM_EXIT, REGION, S.EXITED),
    ]
    timeline: list[ChangeType] = []
    for action, actor, expected in story:
        state, changes = act(state, action, actor)
        assert state.status == expected, action
        timeline += [c.type for c in changes]
    assert state.delivery_started_at == LATER
    assert timeline == [
        ChangeType.PROPOSED,
        ChangeType.SIGNED_OFF,
        ChangeType.SIGNED_OFF,
        ChangeType.AGREED,
        ChangeType.ACKNOWLEDGED,
        ChangeType.DELIVERY_STARTED,
        ChangeType.EXIT_PROPOSED,
        ChangeType.EXIT_DECLINED,
        ChangeType.EXIT_PROPOSED,
        ChangeType.EXITED,
    ]


def test_every_permission_names_its_source() -> None:
    assert all("para" in rule.source or "seed" in rule.source for rule in WHO.values())


# --- exit criteria ----------------------------------------------------------------------------

AE = ExitCriterion("A&E standard met", ("operational_standard_failed:op_ae_4hr_pct",))
FINANCE = ExitCriterion("Finance score 1 or 2", ("finance_score",))
OPERATIONAL = ExitCriterion("Every operational standard met", ("operational_standard_failed",))
JUDGEMENT = ExitCriterion("Board capability review complete")


@pytest.mark.parametrize(
    ("criteria", "active", "met"),
    [
        ((AE, FINANCE), [], True),
        ((AE, FINANCE), ["cqc_rating"], True),
        ((AE, FINANCE), ["finance_score"], False),
        ((AE,), ["operational_standard_failed:op_ae_4hr_pct"], False),
        ((AE,), ["operational_standard_failed:op_rtt_18wk_pct"], True),
        ((OPERATIONAL,), ["operational_standard_failed:op_rtt_18wk_pct"], False),
        ((OPERATIONAL,), ["operational_deterioration:op_rtt_18wk_pct"], True),
        ((AE, JUDGEMENT), [], False),
        ((), [], False),
    ],
    ids=[
        "none_active",
        "another_theme_active",
        "finance_still_active",
        "named_metric_active",
        "other_metric_active",
        "bare_code_any_metric",
        "other_code",
        "judgement_needs_a_person",
        "no_exit_strategy",
    ],
)
def test_exit_criteria(criteria: tuple[ExitCriterion, ...], active: list[str], met: bool) -> None:
    assert exit_criteria_met(criteria, active) is met
