"""Notification's event handlers: each event that needs a person becomes an alert, routed,
grouped, inhibited and silenced by the pipeline's stages (``stages.issue``); events that settle
an earlier alert resolve it; segment decisions and package changes keep what inhibits alerts.

An alert is stored with an audience row per receiver (its group, or why it is muted there), an
``issued`` log entry (which the live stream follows) and an ``alert.issued`` event, all in the
batch's transaction. Sending to email and webhooks is the dispatcher's (``dispatch``), later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from sqlmodel import col, select

from oversight_contracts import (
    AlertChangeData,
    AlertIssued,
    AlertIssuedData,
    AlertResolved,
    Envelope,
    SegmentDecided,
    SegmentDecidedV2,
    SupportPackageProposed,
    SupportPackageProposedV2,
)
from oversight_notification import facts, stages
from oversight_notification.routing import load_routing
from oversight_notification.storage import (
    Alert,
    AlertAudience,
    AlertLogEntry,
    KnownSegment,
    NotificationGroup,
    PackageRecord,
    Silence,
)
from oversight_notification.telemetry import alert_metrics
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.unit_of_work import UnitOfWork

handlers = EventHandlers()
SOURCE = "notification"
#: The change channel a stored alert or log entry is announced on (live streams wake on it).
ALERTS_CHANNEL = "alerts"
#: Alert ids derive from the causing event's id, so the same event can only ever make one alert.
_ALERT_IDS = UUID("3f0b9a52-7d1e-5c84-b6a2-0e9d4c1f8a73")


@handlers.on(*facts.READERS)
async def on_event(uow: UnitOfWork, event: Envelope[Any]) -> None:
    """Keep what inhibits alerts, settle what the event clears, issue what it raises."""
    provider = uow.registry.provider(event.data.provider)
    await _keep_state(uow, event)
    segment = await _segment(uow, provider.ods_code)
    theme = await _package_theme(uow, event)
    reading = facts.read(event, facts.Context(provider, segment, uow.framework, theme))
    now = datetime.now(UTC)
    if reading.resolves:
        await _resolve(uow, provider.ods_code, reading.resolves, event, now)
    if reading.alert is not None:
        await _issue(uow, event, reading.alert, now)


# --- issuing ------------------------------------------------------------------------------------


async def _issue(uow: UnitOfWork, event: Envelope[Any], alert: facts.AlertFacts, now: datetime) -> None:
    routes, inhibitions = load_routing()
    provider = alert.provider.ods_code
    addressed = stages.issue(
        alert,
        routes=routes,
        inhibitions=inhibitions,
        provider_facts=stages.provider_facts(provider, alert.segment, await _delivering(uow, provider)),
        silences=await _silences(uow, now),
        now=now,
    )
    muted = {a.muted for a in addressed}
    everywhere = next(iter(muted)) if len(muted) == 1 else None  # muted for every receiver
    row = Alert(
        alert_id=uuid5(_ALERT_IDS, str(event.id)),
        provider=provider,
        provider_name=alert.provider.name,
        kind=alert.alert_type,
        severity=alert.severity.value,
        theme=alert.theme,
        title=alert.title,
        body=alert.body,
        fingerprint=alert.fingerprint,
        muted=everywhere.value if everywhere else None,
        muted_by=next((a.muted_by for a in addressed if a.muted), None) if everywhere else None,
        source_event_id=event.id,
        source_event_type=event.type,
        correlation_id=event.correlation_id,
        occurred_at=event.time,
        created_at=now,
        audiences=[
            AlertAudience(
                organisation=a.receiver,
                group_id=None if a.muted else (await _group(uow, a, now)).id,
                muted=a.muted.value if a.muted else None,
                muted_by=a.muted_by,
            )
            for a in addressed
        ],
    )
    uow.session.add(row)
    await uow.session.flush()  # the log entry refers to the alert's id
    assert row.id is not None
    uow.session.add(AlertLogEntry(alert_id=row.id, kind="issued", at=now))
    uow.publish(_issued_event(row, alert, event, now))
    uow.changed(ALERTS_CHANNEL)
    metrics = alert_metrics()
    metrics.issued.labels(alert.alert_type, alert.severity.value).inc()
    for a in addressed:
        if a.muted:
            metrics.suppressed.labels(a.muted.value).inc()


def _issued_event(row: Alert, alert: facts.AlertFacts, cause: Envelope[Any], now: datetime) -> AlertIssued:
    return AlertIssued.new(
        source=SOURCE,
        subject=row.provider,
        cause=cause,
        data=AlertIssuedData(
            alert_id=row.alert_id,
            alert_type=alert.alert_type,
            severity=alert.severity,
            provider=row.provider,
            theme=alert.theme,
            audiences=[a.organisation for a in row.audiences][:20],
            provider_name=row.provider_name,
            title=row.title,
            body=row.body,
            status=row.muted or "active",
            source_event_id=cause.id,
            source_event_type=cause.type,
            occurred_at=cause.time,
            issued_at=now,
        ),
    )


async def _group(uow: UnitOfWork, addressed: stages.Addressed, now: datetime) -> NotificationGroup:
    """The receiver's group for the alert, its next notification moved as ``stages.join`` says."""
    key = ("group", addressed.group_key)
    group: NotificationGroup | None = uow.cache.get(key)
    if group is None:
        query = select(NotificationGroup).where(NotificationGroup.key == addressed.group_key)
        group = (await uow.session.exec(query)).first()
    if group is None:
        window = stages.join(None, addressed.group_wait, addressed.group_interval, now)
        group = NotificationGroup(
            key=addressed.group_key,
            receiver=addressed.receiver,
            route=addressed.route,
            group_interval_seconds=addressed.group_interval.total_seconds(),
            opened_at=window.opened_at,
            notify_at=window.notify_at,
        )
        uow.session.add(group)
        await uow.session.flush()
    else:
        window = stages.GroupWindow(group.opened_at, group.notify_at, group.last_sent_at)
        group.notify_at = stages.join(window, addressed.group_wait, addressed.group_interval, now).notify_at
    uow.cache[key] = group
    return group


async def _silences(uow: UnitOfWork, now: datetime) -> list[stages.SilenceRule]:
    key = "silences"
    if key not in uow.cache:
        rows = await uow.session.exec(select(Silence).where(col(Silence.ends_at) > now))
        uow.cache[key] = [
            stages.SilenceRule(s.id, s.organisation, s.matchers, s.starts_at, s.ends_at) for s in rows
        ]
    silences: list[stages.SilenceRule] = uow.cache[key]
    return silences


# --- settling -----------------------------------------------------------------------------------


async def _resolve(
    uow: UnitOfWork, provider: str, fingerprints: tuple[str, ...], cause: Envelope[Any], now: datetime
) -> None:
    """Resolve the provider's open alerts about what ``cause`` settled: their cause cleared."""
    query = select(Alert).where(
        Alert.provider == provider, col(Alert.fingerprint).in_(fingerprints), Alert.status != "resolved"
    )
    reason = f"its cause cleared ({cause.type})"
    for alert in await uow.session.exec(query):
        assert alert.id is not None
        alert.status, alert.changed_at = "resolved", now
        uow.session.add(AlertLogEntry(alert_id=alert.id, kind="resolved", reason=reason, at=now))
        audiences = await uow.session.exec(
            select(AlertAudience.organisation).where(AlertAudience.alert_id == alert.id)
        )
        uow.publish(
            AlertResolved.new(
                source=SOURCE,
                subject=provider,
                cause=cause,
                data=AlertChangeData(
                    alert_id=alert.alert_id,
                    alert_type=alert.kind,
                    severity=alert.severity,
                    provider=provider,
                    theme=alert.theme,
                    audiences=list(audiences)[:20],
                    actor=None,
                    reason=reason,
                    at=now,
                ),
            )
        )
        uow.changed(ALERTS_CHANNEL)


# --- what inhibits alerts -----------------------------------------------------------------------


async def _keep_state(uow: UnitOfWork, event: Envelope[Any]) -> None:
    """A provider's latest segment, and each package's theme and status."""
    data = event.data
    if isinstance(event, SegmentDecided | SegmentDecidedV2):
        row = await uow.session.get(KnownSegment, data.provider)
        if row is None:
            uow.session.add(
                KnownSegment(provider=data.provider, segment=data.segment, decided_at=data.decided_at)
            )
        elif data.decided_at >= row.decided_at:
            row.segment, row.decided_at = data.segment, data.decided_at
        uow.cache[("segment", data.provider)] = data.segment
    elif hasattr(data, "package_id"):
        record = await uow.session.get(PackageRecord, data.package_id)
        theme = (
            data.theme.value if isinstance(event, SupportPackageProposed | SupportPackageProposedV2) else None
        )
        status = str(getattr(data, "status", "draft"))
        if record is None:
            uow.session.add(
                PackageRecord(package_id=data.package_id, provider=data.provider, theme=theme, status=status)
            )
        else:
            record.theme, record.status = record.theme or theme, status
        uow.cache.pop(("delivering", data.provider), None)


async def _segment(uow: UnitOfWork, provider: str) -> int | None:
    key = ("segment", provider)
    if key not in uow.cache:
        row = await uow.session.get(KnownSegment, provider)
        uow.cache[key] = row.segment if row else None
    segment: int | None = uow.cache[key]
    return segment


async def _package_theme(uow: UnitOfWork, event: Envelope[Any]) -> str | None:
    package_id = getattr(event.data, "package_id", None)
    if package_id is None:
        return None
    record = await uow.session.get(PackageRecord, package_id)
    return record.theme if record else None


async def _delivering(uow: UnitOfWork, provider: str) -> list[str]:
    """Themes of the provider's packages in delivery."""
    key = ("delivering", provider)
    if key not in uow.cache:
        query = select(PackageRecord.theme).where(
            PackageRecord.provider == provider, PackageRecord.status == "in_delivery"
        )
        uow.cache[key] = [t for t in await uow.session.exec(query) if t]
    themes: list[str] = uow.cache[key]
    return themes
