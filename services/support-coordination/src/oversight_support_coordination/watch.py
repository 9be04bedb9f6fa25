"""Monitoring applied: what the handlers and the daily check do with ``monitoring``'s rules.

Each reads what it needs once per batch (``uow.cache``: a provider's watched packages, their
judged milestones, a trigger), judges with the pure rules, and records every change through
``packages`` like the API: the package's new state, a timeline row (no actor: monitoring) and an
event, both naming the event that caused them and carrying its correlation id. Monitoring never
raises the lifecycle's refusals: it only acts where the package's status allows it, so a
package a person moved on meanwhile is left alone.

Triggers are kept here as metrics raised and cleared them (``storage.ProviderTrigger``) rather
than read from needs being resolved: an exit criterion names trigger codes, a need is a whole
theme (its resolution waits for every trigger under it) and a v1 need names no codes at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlmodel import col, select

from oversight_contracts import (
    AnyTriggerCleared,
    AnyTriggerRaised,
    Envelope,
    MetricEvaluated,
    PackageStatus,
    SegmentDecided,
    SegmentDecidedV2,
    TriggerClearedData,
    TriggerClearedV2Data,
    TriggerRaisedData,
    TriggerRaisedV2Data,
)
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_support_coordination import monitoring
from oversight_support_coordination.lifecycle import (
    ALLOWED,
    MONITORING,
    PackageAction,
    PackagePlan,
    transition,
)
from oversight_support_coordination.monitoring import EscalationCause
from oversight_support_coordination.packages import plan_of, record_changes, record_outcome, state_of
from oversight_support_coordination.storage import PackageMilestone, ProviderTrigger, SupportPackage

AnyTriggerData = TriggerRaisedData | TriggerRaisedV2Data | TriggerClearedData | TriggerClearedV2Data
MilestoneKey = tuple[UUID, str, str, str]  # package, kind, item, period


# --- KPIs against their trajectory ---------------------------------------------------------------


async def metric_evaluated(uow: UnitOfWork, event: MetricEvaluated) -> None:
    """Judge the value against every watched package's KPI on the metric: record it, report a
    miss once, escalate on a second miss in a row."""
    data = event.data
    kpis = [
        (row, plan, kpi)
        for row, plan in await _watched(uow, data.provider, monitoring.WATCHED)
        for kpi in plan.kpis
        if kpi.metric == data.metric
    ]
    if not kpis:
        return  # the common case: a metric no agreed package has as a KPI
    milestones = await _milestones(uow, data.provider)
    now = datetime.now(UTC)
    for row, plan, kpi in kpis:
        if PackageStatus(row.status) not in monitoring.WATCHED:
            continue  # escalated by another of its KPIs just now
        earlier = {
            period: m.actual
            for (package, kind, item, period), m in milestones.items()
            if (package, kind, item) == (row.id, "kpi", kpi.metric) and m.actual is not None
        }
        key = (row.id, "kpi", kpi.metric, data.period)
        known = milestones.get(key)
        reported = known is not None and known.missed_event_id is not None
        verdict = monitoring.judge_kpi(kpi, data.period, data.value, earlier, reported=reported)
        if verdict is None:
            continue  # no milestone for this period
        milestone = _keep(
            uow,
            milestones,
            key,
            target=verdict.result.target,
            actual=verdict.result.value,
            met=verdict.result.on_trajectory,
            cause_event_id=event.id,
            assessed_at=now,
        )
        if verdict.report:
            change = monitoring.missed_kpi(state_of(row), verdict, kpi.direction, now)
            [missed] = record_changes(uow, row, [change], plan, cause=event)
            milestone.missed_event_id = missed.id
        if verdict.escalate:
            await _escalate(uow, row, "missed_milestones", verdict.escalate, event, now)


def _keep(
    uow: UnitOfWork, milestones: dict[MilestoneKey, PackageMilestone], key: MilestoneKey, **values: Any
) -> PackageMilestone:
    """The milestone's row with ``values``: the stored one updated (a value evaluated again), or
    a new one."""
    row = milestones.get(key)
    if row is None:
        package_id, kind, item, period = key
        row = PackageMilestone(package_id=package_id, kind=kind, item=item, period=period, **values)
        uow.session.add(row)
        milestones[key] = row
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


async def _milestones(uow: UnitOfWork, provider: str) -> dict[MilestoneKey, PackageMilestone]:
    """The judged milestones of the provider's watched packages, read once per batch."""
    key = ("milestones", provider)
    if key not in uow.cache:
        ids = [row.id for row in await _rows(uow, provider)]
        rows = await uow.session.exec(
            select(PackageMilestone).where(col(PackageMilestone.package_id).in_(ids))
        )
        uow.cache[key] = {(m.package_id, m.kind, m.item, m.period): m for m in rows}
    milestones: dict[MilestoneKey, PackageMilestone] = uow.cache[key]
    return milestones


# --- the provider's segment -----------------------------------------------------------------------


async def segment_decided(uow: UnitOfWork, event: SegmentDecided | SegmentDecidedV2, was: int | None) -> None:
    """A worse segment than the provider had (``was``) escalates its watched packages."""
    reason = monitoring.segment_worsened(was, event.data.segment)
    if reason is None:
        return
    now = datetime.now(UTC)
    for row, _plan in await _watched(uow, event.data.provider, monitoring.WATCHED):
        await _escalate(uow, row, "segment_worsened", reason, event, now)


# --- triggers and exit --------------------------------------------------------------------------


async def trigger_raised(uow: UnitOfWork, event: AnyTriggerRaised) -> None:
    """Keep the trigger as active; one already known (redelivered, or its clearing seen first)
    stays as it is."""
    data = event.data
    if await _trigger(uow, data.trigger_id) is None:
        _add_trigger(uow, data, raised_at=data.raised_at)


async def trigger_cleared(uow: UnitOfWork, event: AnyTriggerCleared) -> None:
    """Keep the trigger as cleared, then see (once per provider per batch) whether its packages
    in delivery may now exit. Exit is judged only when a trigger clears: after the regional
    decider declines an exit, it is proposed again only on new evidence."""
    data = event.data
    row = await _trigger(uow, data.trigger_id)
    if row is None:
        _add_trigger(uow, data, cleared_at=data.cleared_at)
    elif row.cleared_at is None:
        row.cleared_at = data.cleared_at
        row.trigger_key = row.trigger_key or data.key

    async def propose_exits() -> None:
        await _propose_exits(uow, event)

    uow.once(("propose exits", data.provider), propose_exits)


async def _propose_exits(uow: UnitOfWork, cause: Envelope[Any]) -> None:
    packages = await _watched(uow, cause.subject, monitoring.EXITABLE)
    if not packages:
        return
    triggers = list(
        await uow.session.exec(select(ProviderTrigger).where(ProviderTrigger.provider == cause.subject))
    )
    active = {t.key for t in triggers if t.cleared_at is None}
    cleared = {t.key for t in triggers if t.cleared_at is not None}
    now = datetime.now(UTC)
    for row, plan in packages:
        if not monitoring.exit_due(plan.exit_criteria, active, cleared):
            continue
        named = sorted({code for c in plan.exit_criteria for code in c.clears})
        reason = f"every exit criterion holds: the triggers they name have cleared ({', '.join(named)})"
        outcome = transition(
            state_of(row), PackageAction.PROPOSE_EXIT, MONITORING, now=now, reason=reason[:2000]
        )
        await record_outcome(uow, row, outcome, cause=cause)


async def _trigger(uow: UnitOfWork, trigger_id: UUID) -> ProviderTrigger | None:
    key = ("trigger", trigger_id)
    if key not in uow.cache:
        uow.cache[key] = await uow.session.get(ProviderTrigger, trigger_id)
    trigger: ProviderTrigger | None = uow.cache[key]
    return trigger


def _add_trigger(uow: UnitOfWork, data: AnyTriggerData, **at: datetime) -> None:
    row = ProviderTrigger(
        trigger_id=data.trigger_id,
        provider=data.provider,
        code=data.code,
        metric=data.metric,
        trigger_key=data.key,
        **at,
    )
    uow.session.add(row)
    uow.cache[("trigger", data.trigger_id)] = row


# --- plan items past their due date (daily) ------------------------------------------------------


async def check_plan_items(uow: UnitOfWork) -> int:
    """Report each plan item past its due date in a package agreed or in delivery, once per item
    and due date (an item re-planned to a later date is a new milestone). Returns how many.

    A periodic job, yet it records directly rather than publishing a "check due" event for a
    handler (``periodic``): it moves no package, only adds what it found, and the milestone's
    unique key stops a second report from a concurrent round."""
    today, now, correlation = datetime.now(UTC).date(), datetime.now(UTC), uuid4()
    statuses = [s.value for s in monitoring.DELIVERING]
    late = []
    for row in await uow.session.exec(select(SupportPackage).where(col(SupportPackage.status).in_(statuses))):
        plan = plan_of(row)
        if items := monitoring.overdue(plan.plan_items, today):
            late.append((row, plan, items))
    if not late:
        return 0
    reported = {
        (m.package_id, m.item, m.period)
        for m in await uow.session.exec(
            select(PackageMilestone).where(
                PackageMilestone.kind == "plan_item",
                col(PackageMilestone.package_id).in_([row.id for row, _plan, _items in late]),
            )
        )
    }
    done = 0
    for row, plan, items in late:
        state = state_of(row)
        for item in items:
            assert item.due is not None  # ``overdue`` items have one
            if (row.id, str(item.id), item.due.isoformat()) in reported:
                continue
            change = monitoring.missed_plan_item(state, item, now)
            [missed] = record_changes(uow, row, [change], plan, correlation_id=correlation)
            uow.session.add(
                PackageMilestone(
                    package_id=row.id,
                    kind="plan_item",
                    item=str(item.id),
                    period=item.due.isoformat(),
                    met=False,
                    missed_event_id=missed.id,
                    assessed_at=now,
                )
            )
            done += 1
    return done


# --- shared ------------------------------------------------------------------------------------


async def _rows(uow: UnitOfWork, provider: str) -> list[SupportPackage]:
    """The provider's packages monitoring may act on, read once per batch (their statuses are
    read again from the rows, which this batch's changes update)."""
    key = ("watched packages", provider)
    if key not in uow.cache:
        statuses = [s.value for s in monitoring.WATCHED]
        query = select(SupportPackage).where(
            SupportPackage.provider == provider, col(SupportPackage.status).in_(statuses)
        )
        uow.cache[key] = list(await uow.session.exec(query))
    rows: list[SupportPackage] = uow.cache[key]
    return rows


async def _watched(
    uow: UnitOfWork, provider: str, statuses: frozenset[PackageStatus]
) -> list[tuple[SupportPackage, PackagePlan]]:
    """The provider's packages now in one of ``statuses``, with their plans (read once)."""
    watched = []
    for row in await _rows(uow, provider):
        if PackageStatus(row.status) in statuses:
            key = ("plan", row.id)
            if key not in uow.cache:
                uow.cache[key] = plan_of(row)
            watched.append((row, uow.cache[key]))
    return watched


async def _escalate(
    uow: UnitOfWork,
    row: SupportPackage,
    cause: EscalationCause,
    reason: str,
    event: Envelope[Any],
    now: datetime,
) -> None:
    """Escalate the package for monitoring, where its status still allows it."""
    state = state_of(row)
    if PackageAction.ESCALATE not in ALLOWED[state.status]:
        return
    outcome = transition(
        state, PackageAction.ESCALATE, MONITORING, now=now, reason=reason[:2000], details={"cause": cause}
    )
    await record_outcome(uow, row, outcome, cause=event)
