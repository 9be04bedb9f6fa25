"""Monitoring a support package once it is agreed, as pure rules: the service (``watch``) reads
what it needs, calls these and records what they say through the lifecycle.

- **KPIs against their trajectory** (seed 002: recovery KPIs and trajectories are monitored; seed
  003 para 24). Every evaluated value of a KPI's metric for a period on its trajectory is judged
  (``judge_kpi``); one off trajectory is a missed milestone, reported once per package, metric
  and period however often the value is evaluated again. A second missed milestone in a row for
  the same KPI escalates the package (``missed_in_a_row``): one miss can be noise, two say the
  trajectory is not being delivered.
- **Plan items past their due date** (Kerr rec 1.6: named support over a set time), checked daily
  (``overdue``): one missed milestone per item and due date. An overdue item does not escalate.
- **Exit** (seed 002: clear exit criteria; seed 001: a clear pathway out): monitoring proposes it
  when every criterion holds (``lifecycle.exit_criteria_met``) and each was seen to clear
  (``exit_due``), for a package in delivery.
- **A worse segment** (Table 2: the package was agreed for less support) escalates the package
  (``segment_worsened``).

Which packages are watched: KPIs and the segment in every status where the package is live and
may escalate (agreed, in delivery, exit proposed: a miss while exit is proposed is what the
regional decider needs to decline it); plan items while the package is agreed or in delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from oversight_contracts import PackageStatus
from oversight_contracts.frameworks import Direction
from oversight_support_coordination.catalogue import DEFAULT_SEGMENT
from oversight_support_coordination.lifecycle import (
    MONITORING,
    Change,
    ChangeType,
    ExitCriterion,
    Kpi,
    PackageState,
    PlanItem,
    PlanItemStatus,
    exit_criteria_met,
)

_S = PackageStatus
#: Packages whose KPIs are judged and which a worse segment escalates.
WATCHED = frozenset({_S.AGREED, _S.IN_DELIVERY, _S.EXIT_PROPOSED})
#: Packages whose plan items are checked against their due dates.
DELIVERING = frozenset({_S.AGREED, _S.IN_DELIVERY})
#: Packages monitoring proposes exit for.
EXITABLE = frozenset({_S.IN_DELIVERY})
#: Plan items that can no longer be late.
FINISHED = frozenset({PlanItemStatus.DONE, PlanItemStatus.DROPPED})

#: Why monitoring escalated (``SupportPackageEscalatedData.cause``).
EscalationCause = Literal["missed_milestones", "segment_worsened"]


def on_trajectory(value: float, target: float, direction: Direction) -> bool:
    """Whether ``value`` meets a milestone's ``target``, reading the metric's better direction."""
    return value >= target if direction == Direction.HIGHER_IS_BETTER else value <= target


@dataclass(frozen=True)
class MilestoneResult:
    metric: str
    period: str
    target: float
    value: float
    on_trajectory: bool


def assess(kpi: Kpi, values: Mapping[str, float]) -> list[MilestoneResult]:
    """The KPI's milestones that have a value (``values`` by period), in period order. A period
    with no return is not a miss: a missing return is chased as a return, not judged as a result."""
    return [
        MilestoneResult(
            kpi.metric,
            m.period,
            m.target,
            values[m.period],
            on_trajectory(values[m.period], m.target, kpi.direction),
        )
        for m in sorted(kpi.trajectory, key=lambda m: m.period)
        if m.period in values
    ]


def missed_in_a_row(results: Sequence[MilestoneResult], period: str) -> tuple[int, list[str]]:
    """For the milestone of ``period`` (in ``results``, one KPI's in period order): how many
    milestones in a row were missed up to it, itself included, and the periods of the whole run
    of misses it belongs to (a late return can join two runs). Periods without a return do not
    break a run: nothing was judged there."""
    index = next(i for i, r in enumerate(results) if r.period == period)
    if results[index].on_trajectory:
        return 0, []
    start = index
    while start > 0 and not results[start - 1].on_trajectory:
        start -= 1
    end = index
    while end + 1 < len(results) and not results[end + 1].on_trajectory:
        end += 1
    return index - start + 1, [r.period for r in results[start : end + 1]]


@dataclass(frozen=True)
class KpiVerdict:
    """What one evaluated value means for a package's KPI."""

    result: MilestoneResult
    #: Report it as a missed milestone (off trajectory, and not reported before).
    report: bool
    #: Missed milestones in a row up to this one (0 when on trajectory).
    consecutive: int
    #: Why the package escalates, when this miss makes two or more in a row.
    escalate: str | None


def judge_kpi(
    kpi: Kpi, period: str, value: float, earlier: Mapping[str, float], *, reported: bool
) -> KpiVerdict | None:
    """Judge ``value`` for ``period`` against the KPI's trajectory, with the values judged
    before (``earlier``, by period; a re-evaluated period's new value replaces its old one).
    None when the trajectory has no milestone for the period. ``reported`` says this period's
    miss was reported already: a redelivered or re-evaluated value reports nothing again."""
    values = {**earlier, period: value}
    results = assess(kpi, values)
    result = next((r for r in results if r.period == period), None)
    if result is None:
        return None
    consecutive, run = missed_in_a_row(results, period)
    if result.on_trajectory or reported:
        return KpiVerdict(result, False, consecutive, None)
    escalate = None
    if len(run) >= 2:
        escalate = f"{kpi.metric} missed its trajectory {len(run)} times in a row: {', '.join(run)}"
    return KpiVerdict(result, True, consecutive, escalate)


def missed_kpi(state: PackageState, verdict: KpiVerdict, direction: Direction, now: datetime) -> Change:
    """The timeline's and the event's record of a KPI off its trajectory."""
    r = verdict.result
    better = "at least" if direction == Direction.HIGHER_IS_BETTER else "at most"
    return _missed(
        state,
        now,
        f"{r.metric} was {r.value:g} in {r.period}; the trajectory needed {better} {r.target:g} "
        f"({verdict.consecutive} missed in a row)",
        kind="kpi",
        metric=r.metric,
        period=r.period,
        target=repr(r.target),
        actual=repr(r.value),
        consecutive=str(verdict.consecutive),
    )


def overdue(items: Iterable[PlanItem], today: date) -> list[PlanItem]:
    """Plan items past their due date (due before ``today``) and neither done nor dropped."""
    return [i for i in items if i.due is not None and i.due < today and i.status not in FINISHED]


def missed_plan_item(state: PackageState, item: PlanItem, now: datetime) -> Change:
    """The record of a plan item past its due date: one milestone, so one in a row."""
    assert item.due is not None  # ``overdue`` items have one
    return _missed(
        state,
        now,
        f"'{item.action[:200]}' (owner {item.owner}) was due on {item.due.isoformat()} and is "
        f"{item.status.value.replace('_', ' ')}",
        kind="plan_item",
        plan_item_id=str(item.id),
        due=item.due.isoformat(),
        consecutive="1",
    )


def _missed(state: PackageState, now: datetime, reason: str, **details: str) -> Change:
    return Change(ChangeType.MILESTONE_MISSED, MONITORING, now, state.status, state.status, reason, details)


def exit_due(criteria: Sequence[ExitCriterion], active: Collection[str], cleared: Collection[str]) -> bool:
    """Whether monitoring proposes exit: every criterion holds (none of its triggers is active,
    ``lifecycle.exit_criteria_met``) and each was seen to clear: one of the triggers it names
    was raised and has cleared. A criterion whose triggers were never seen is left to a person:
    not having seen a trigger (raised before this service kept them) is not seeing it clear.

    Triggers are ``code`` or ``code:metric``; a criterion naming the bare code matches any."""
    seen = {*cleared, *(t.split(":", 1)[0] for t in cleared)}
    return exit_criteria_met(criteria, active) and all(not seen.isdisjoint(c.clears) for c in criteria)


def segment_worsened(was: int | None, now: int | None) -> str | None:
    """Why the package escalates when the provider's segment changed from ``was`` to ``now``,
    or None: a higher number is more support (Table 2), which the package was not agreed for.
    No segment decision counts as segment 2, as in ``catalogue.offers_for``; a decision
    withdrawn (``now`` None) is no worsening."""
    if now is None:
        return None
    was = was or DEFAULT_SEGMENT
    return f"the provider moved from segment {was} to segment {now}" if now > was else None
