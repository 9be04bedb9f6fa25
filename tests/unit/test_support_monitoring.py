"""Monitoring an agreed support package (``monitoring``): KPIs against their trajectory per
direction, missed milestones in a row, plan items past their due date, exit when every criterion
holds and not before, a worse segment; and the events and timeline rows they turn into."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from oversight_contracts import (
    PackageStatus,
    SupportPackageEscalated,
    SupportPackageMilestoneMissed,
)
from oversight_contracts.frameworks import Direction
from oversight_support_coordination.lifecycle import (
    MONITORING,
    ExitCriterion,
    Kpi,
    Milestone,
    PackageAction,
    PackagePlan,
    PackageState,
    PlanItem,
    PlanItemStatus,
    transition,
)
from oversight_support_coordination.monitoring import (
    MilestoneResult,
    assess,
    exit_due,
    judge_kpi,
    missed_in_a_row,
    missed_kpi,
    missed_plan_item,
    on_trajectory,
    overdue,
    segment_worsened,
)
from oversight_support_coordination.packages import event_for, extra_for, timeline_row
from oversight_support_coordination.storage import SupportPackage

NOW = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
HIGHER, LOWER = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER
AE = Kpi(
    "op_ae_4hr_pct",
    HIGHER,
    (
        Milestone("2026-12", 76.0),
        Milestone("2027-01", 78.0),
        Milestone("2027-02", 80.0),
        Milestone("2027-03", 82.0),
    ),
)
#: Lower is better: the share waiting over six weeks for a diagnostic test.
DIAGNOSTICS = Kpi("op_diag_6wk_pct", LOWER, (Milestone("2027-01", 5.0), Milestone("2027-02", 3.0)))


# --- a value against its milestone ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "target", "direction", "on"),
    [
        (78.0, 78.0, HIGHER, True),
        (77.9, 78.0, HIGHER, False),
        (81.0, 78.0, HIGHER, True),
        (30.0, 30.0, LOWER, True),
        (30.1, 30.0, LOWER, False),
        (25.0, 30.0, LOWER, True),
    ],
    ids=["higher_at_target", "higher_below", "higher_above", "lower_at_target", "lower_above", "lower_below"],
)
def test_on_trajectory(value: float, target: float, direction: Direction, on: bool) -> None:
    assert on_trajectory(value, target, direction) is on


def test_assess_reads_milestones_with_a_return_in_period_order() -> None:
    kpi = Kpi(AE.metric, HIGHER, tuple(reversed(AE.trajectory)))
    results = assess(kpi, {"2027-01": 77.0, "2026-12": 77.0, "2026-11": 70.0})
    assert [(r.period, r.value, r.on_trajectory) for r in results] == [
        ("2026-12", 77.0, True),
        ("2027-01", 77.0, False),
    ]


def _results(*on: bool) -> list[MilestoneResult]:
    return [
        MilestoneResult("ae", f"2027-{i + 1:02d}", 78.0, 80.0 if o else 70.0, o) for i, o in enumerate(on)
    ]


@pytest.mark.parametrize(
    ("on", "period", "consecutive", "run"),
    [
        ((True,), "2027-01", 0, []),
        ((False,), "2027-01", 1, ["2027-01"]),
        ((False, False), "2027-02", 2, ["2027-01", "2027-02"]),
        ((False, True, False), "2027-03", 1, ["2027-03"]),
        ((True, False, False, False), "2027-04", 3, ["2027-02", "2027-03", "2027-04"]),
        ((False, False, True), "2027-01", 1, ["2027-01", "2027-02"]),
    ],
    ids=["on", "first_miss", "second_in_a_row", "recovered_between", "third_in_a_row", "late_return_joins"],
)
def test_missed_in_a_row(on: tuple[bool, ...], period: str, consecutive: int, run: list[str]) -> None:
    assert missed_in_a_row(_results(*on), period) == (consecutive, run)


# --- judging a KPI's value: report once, escalate on the second miss in a row --------------------


@pytest.mark.parametrize(
    ("kpi", "period", "value", "earlier", "reported", "expect"),
    [
        (AE, "2027-01", 79.0, {}, False, (False, 0, False)),
        (AE, "2027-01", 70.0, {}, False, (True, 1, False)),
        (AE, "2027-01", 70.0, {"2026-12": 77.0}, False, (True, 1, False)),
        (AE, "2027-01", 70.0, {"2026-12": 70.0}, False, (True, 2, True)),
        (AE, "2027-02", 70.0, {"2026-12": 70.0}, False, (True, 2, True)),
        (AE, "2027-01", 70.0, {"2026-12": 70.0, "2027-01": 70.0}, True, (False, 2, False)),
        (AE, "2027-01", 71.0, {"2026-12": 70.0, "2027-01": 70.0}, True, (False, 2, False)),
        (AE, "2027-01", 78.5, {"2026-12": 70.0, "2027-01": 70.0}, True, (False, 0, False)),
        (AE, "2026-12", 70.0, {"2027-01": 70.0}, False, (True, 1, True)),
        (AE, "2026-12", 70.0, {"2027-01": 79.0}, False, (True, 1, False)),
        (DIAGNOSTICS, "2027-01", 4.0, {}, False, (False, 0, False)),
        (DIAGNOSTICS, "2027-01", 6.0, {}, False, (True, 1, False)),
        (DIAGNOSTICS, "2027-02", 3.5, {"2027-01": 6.0}, False, (True, 2, True)),
    ],
    ids=[
        "on_trajectory",
        "first_miss",
        "miss_after_a_met_month",
        "second_miss_in_a_row_escalates",
        "a_month_without_return_does_not_break_the_run",
        "redelivered_miss_reports_nothing",
        "re_evaluated_miss_reports_nothing",
        "re_evaluated_onto_trajectory",
        "late_return_before_a_miss_escalates",
        "late_return_before_a_met_month",
        "lower_is_better_on",
        "lower_is_better_miss",
        "lower_is_better_second_miss",
    ],
)
def test_judge_kpi(
    kpi: Kpi,
    period: str,
    value: float,
    earlier: dict[str, float],
    reported: bool,
    expect: tuple[bool, int, bool],
) -> None:
    verdict = judge_kpi(kpi, period, value, earlier, reported=reported)
    assert verdict is not None
    assert (verdict.report, verdict.consecutive, verdict.escalate is not None) == expect
    assert verdict.result.value == value


def test_a_period_off_the_trajectory_is_not_judged() -> None:
    assert judge_kpi(AE, "2026-06", 10.0, {}, reported=False) is None


def test_the_escalation_names_the_kpi_and_the_months_missed() -> None:
    verdict = judge_kpi(AE, "2027-01", 70.0, {"2026-12": 71.0}, reported=False)
    assert verdict is not None
    assert verdict.escalate == "op_ae_4hr_pct missed its trajectory 2 times in a row: 2026-12, 2027-01"


def test_a_re_agreed_trajectory_judges_earlier_values_again() -> None:
    """Values are judged against the trajectory as it stands: lowered targets after an
    escalation make an earlier miss a met month, so one more miss is not two in a row."""
    eased = Kpi(AE.metric, HIGHER, (Milestone("2026-12", 65.0), Milestone("2027-01", 78.0)))
    verdict = judge_kpi(eased, "2027-01", 70.0, {"2026-12": 70.0}, reported=False)
    assert verdict is not None and (verdict.consecutive, verdict.escalate) == (1, None)


# --- plan items --------------------------------------------------------------------------------

TODAY = date(2027, 3, 2)


def _item(due: date | None, status: PlanItemStatus = PlanItemStatus.PLANNED) -> PlanItem:
    return PlanItem(
        uuid4(), "ECIP diagnostic of emergency flow", (UUID(int=1),), "Y56", due=due, status=status
    )


@pytest.mark.parametrize(
    ("due", "status", "late"),
    [
        (date(2027, 3, 1), PlanItemStatus.PLANNED, True),
        (date(2027, 2, 1), PlanItemStatus.IN_PROGRESS, True),
        (TODAY, PlanItemStatus.PLANNED, False),
        (date(2027, 4, 1), PlanItemStatus.PLANNED, False),
        (date(2027, 3, 1), PlanItemStatus.DONE, False),
        (date(2027, 3, 1), PlanItemStatus.DROPPED, False),
        (None, PlanItemStatus.PLANNED, False),
    ],
    ids=["yesterday", "in_progress_last_month", "due_today", "not_yet_due", "done", "dropped", "no_due_date"],
)
def test_overdue(due: date | None, status: PlanItemStatus, late: bool) -> None:
    item = _item(due, status)
    assert overdue([item], TODAY) == ([item] if late else [])


# --- exit ----------------------------------------------------------------------------------------

AE_MET = ExitCriterion("A&E standard met", ("operational_standard_failed:op_ae_4hr_pct",))
OPERATIONAL = ExitCriterion("Every operational standard met", ("operational_standard_failed",))
FINANCE = ExitCriterion("Finance score 1 or 2", ("finance_score",))
JUDGEMENT = ExitCriterion("Board capability review complete")
AE_TRIGGER = "operational_standard_failed:op_ae_4hr_pct"
RTT_TRIGGER = "operational_standard_failed:op_rtt_18wk_pct"


@pytest.mark.parametrize(
    ("criteria", "active", "cleared", "due"),
    [
        ((AE_MET,), [], [AE_TRIGGER], True),
        ((AE_MET,), [AE_TRIGGER], [], False),
        ((AE_MET,), [AE_TRIGGER], [AE_TRIGGER], False),
        ((OPERATIONAL,), [], [AE_TRIGGER, RTT_TRIGGER], True),
        ((OPERATIONAL,), [RTT_TRIGGER], [AE_TRIGGER], False),
        ((AE_MET, FINANCE), [], [AE_TRIGGER], False),
        ((AE_MET, FINANCE), [], [AE_TRIGGER, "finance_score"], True),
        ((AE_MET, FINANCE), ["finance_score"], [AE_TRIGGER], False),
        ((AE_MET,), [], [], False),
        ((AE_MET, JUDGEMENT), [], [AE_TRIGGER], False),
        ((), [], [AE_TRIGGER], False),
        ((AE_MET,), ["cqc_rating"], [AE_TRIGGER], True),
    ],
    ids=[
        "its_trigger_cleared",
        "its_trigger_active",
        "raised_again_after_clearing",
        "bare_code_every_metric_cleared",
        "bare_code_one_metric_still_active",
        "one_criterion_never_seen_to_clear",
        "every_criterion_cleared",
        "one_criterion_still_active",
        "nothing_seen_is_not_cleared",
        "judgement_needs_a_person",
        "no_exit_strategy",
        "another_theme_active",
    ],
)
def test_exit_is_due_when_every_criterion_holds_and_not_before(
    criteria: tuple[ExitCriterion, ...], active: list[str], cleared: list[str], due: bool
) -> None:
    assert exit_due(criteria, active, cleared) is due


# --- the provider's segment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("was", "now", "says"),
    [
        (2, 3, "moved from segment 2 to segment 3"),
        (3, 4, "moved from segment 3 to segment 4"),
        (1, 2, "moved from segment 1 to segment 2"),
        (2, 2, None),
        (3, 2, None),
        (None, 3, "moved from segment 2 to segment 3"),
        (None, 2, None),
        (2, None, None),
        (None, None, None),
    ],
    ids=[
        "2_to_3",
        "3_to_4",
        "1_to_2",
        "same",
        "improved",
        "none_counts_as_2",
        "none_to_2",
        "withdrawn",
        "none",
    ],
)
def test_segment_worsened(was: int | None, now: int | None, says: str | None) -> None:
    reason = segment_worsened(was, now)
    assert reason == (None if says is None else f"the provider {says}")


# --- what monitoring records: timeline rows and events -------------------------------------------


def _package(status: PackageStatus = PackageStatus.IN_DELIVERY) -> tuple[SupportPackage, PackageState]:
    row = SupportPackage(
        id=uuid4(),
        need_id=uuid4(),
        case_id=uuid4(),
        provider="RJ1",
        theme="operational_performance",
        status=status.value,
        icbs=["QKK"],
        region="Y56",
        summary="A&E recovery",
    )
    return row, PackageState("RJ1", ("QKK",), "Y56", status=status, plan=PackagePlan(kpis=(AE,)))


def _event(change: Any, row: SupportPackage, plan: PackagePlan) -> Any:
    return event_for(change, row, extra=extra_for(change, row, plan), correlation_id=uuid4())


def test_a_missed_kpi_is_a_timeline_row_and_an_event_without_a_person() -> None:
    row, state = _package()
    verdict = judge_kpi(AE, "2027-01", 70.5, {"2026-12": 70.0}, reported=False)
    assert verdict is not None
    change = missed_kpi(state, verdict, AE.direction, NOW)
    event = _event(change, row, state.plan)
    assert isinstance(event, SupportPackageMilestoneMissed)
    data = event.data
    assert (data.kind, data.metric, data.period, data.target, data.actual, data.consecutive) == (
        "kpi",
        "op_ae_4hr_pct",
        "2027-01",
        78.0,
        70.5,
        2,
    )
    assert (data.status, data.previous_status, data.actor) == ("in_delivery", "in_delivery", None)
    assert (
        data.reason
        == "op_ae_4hr_pct was 70.5 in 2027-01; the trajectory needed at least 78 (2 missed in a row)"
    )
    cause = uuid4()
    timeline = timeline_row(row.id, change, cause_event_id=cause, correlation_id=event.correlation_id)
    assert (timeline["kind"], timeline["actor"], timeline["cause_event_id"]) == (
        "milestone_missed",
        None,
        cause,
    )
    assert timeline["detail"] == "milestone missed by monitoring"


def test_an_overdue_plan_item_is_a_missed_milestone_of_its_own() -> None:
    row, state = _package(PackageStatus.AGREED)
    item = _item(date(2027, 2, 1), PlanItemStatus.IN_PROGRESS)
    event = _event(missed_plan_item(state, item, NOW), row, state.plan)
    assert isinstance(event, SupportPackageMilestoneMissed)
    data = event.data
    assert (data.kind, data.plan_item_id, data.due, data.consecutive, data.metric) == (
        "plan_item",
        item.id,
        date(2027, 2, 1),
        1,
        None,
    )
    assert data.reason is not None and "was due on 2027-02-01 and is in progress" in data.reason


@pytest.mark.parametrize("cause", ["missed_milestones", "segment_worsened"])
def test_monitoring_escalation_says_why(cause: str) -> None:
    row, state = _package()
    _state, (change,) = transition(
        state, PackageAction.ESCALATE, MONITORING, now=NOW, reason="why", details={"cause": cause}
    )
    event = _event(change, row, state.plan)
    assert isinstance(event, SupportPackageEscalated)
    assert (event.data.cause, event.data.actor, event.data.status) == (cause, None, "escalated")
