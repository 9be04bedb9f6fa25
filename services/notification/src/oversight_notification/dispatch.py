"""Notifications out of the live stream: from groups due, to each subscription, by email or
webhook (issue 12 points 2 and 4).

Two periodic jobs, so that no transaction waits on the network:

- ``make_notifications`` (one unit of work): each group whose time has come becomes one
  notification per subscription of its receiver, listing the group's new alerts that the
  subscription asks for. The notification log's unique key (subscription, ``stages.
  notification_key``) is the de-duplication: a second round, a restart or another replica
  finds the row and makes no other. During a subscription's quiet hours a non-urgent
  notification is held; when they end, one digest lists what was held.
- ``send_notifications`` (in steps): claims pending rows (a short transaction), sends them all
  at once (each retried with backoff, ``delivery.deliver``; a failing channel fails alone), then
  records each outcome (another short transaction). A row claimed by a process that died is
  claimed again after ``CLAIM_LEASE``: at least once, with the same id (``webhook-id``,
  ``Message-ID``) so a receiver can tell a repeat, which Standard Webhooks asks receivers to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from sqlmodel import and_, col, or_, select

from oversight_contracts import AlertSeverity
from oversight_notification import stages
from oversight_notification.channels import Channel, Delivery, EmailChannel, WebhookChannel
from oversight_notification.delivery import DeliveryOutcome, deliver
from oversight_notification.handlers import ALERTS_CHANNEL
from oversight_notification.settings import NotificationSettings
from oversight_notification.storage import (
    Alert,
    AlertAudience,
    AlertLogEntry,
    Notification,
    NotificationGroup,
    Subscription,
)
from oversight_notification.telemetry import alert_metrics
from oversight_runtime.periodic import UnitsOfWork
from oversight_runtime.unit_of_work import UnitOfWork

#: Groups made into notifications per round, and notifications sent per round.
BATCH = 100
#: A notification claimed this long ago and still "sending" was claimed by a process that died.
CLAIM_LEASE = timedelta(minutes=5)
SEVERITY_ORDER = [AlertSeverity.URGENT, AlertSeverity.HIGH, AlertSeverity.NORMAL, AlertSeverity.INFO]


def _quiet(sub: Subscription) -> stages.QuietHours | None:
    if sub.quiet_start is None or sub.quiet_end is None:
        return None
    return stages.QuietHours(
        time.fromisoformat(sub.quiet_start), time.fromisoformat(sub.quiet_end), sub.timezone
    )


def wanted(sub: Subscription, alert: Alert) -> bool:
    """Whether the subscription asks for the alert: each list it sets must name the alert's value."""
    return (
        (not sub.themes or alert.theme in sub.themes)
        and (not sub.severities or alert.severity in sub.severities)
        and (not sub.alert_types or alert.kind in sub.alert_types)
    )


def most_severe(alerts: Sequence[Alert]) -> AlertSeverity:
    return min((AlertSeverity(a.severity) for a in alerts), key=SEVERITY_ORDER.index)


def compose(alerts: Sequence[Alert], *, digest: bool = False) -> tuple[str, str]:
    """The subject and text of a notification listing ``alerts``."""
    first = alerts[0]
    kind = "Digest" if digest else f"{most_severe(alerts).value.capitalize()} alert"
    subject = (
        f"{kind}: {first.title}"
        if len(alerts) == 1
        else f"{kind}: {len(alerts)} alerts, {first.provider_name}"
    )
    lines = [f"- [{a.severity}] {a.title}\n  {a.body}" for a in alerts]
    return subject[:200], "\n".join(lines)


async def _subscriptions(uow: UnitOfWork, receiver: str) -> list[Subscription]:
    """Email and webhook subscriptions of the receiver: its organisation's users, or a named
    team's (``team:<ODS>:<name>``) members who take that team's alerts."""
    outside = col(Subscription.channel).in_(["email", "webhook"])
    if receiver.startswith("team:"):
        organisation = receiver.split(":")[1]
        rows = await uow.session.exec(
            select(Subscription).where(Subscription.organisation == organisation, outside)
        )
        return [s for s in rows if receiver in s.teams]
    return list(
        await uow.session.exec(select(Subscription).where(Subscription.organisation == receiver, outside))
    )


async def make_notifications(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Groups due become notifications; quiet spells that ended become digests. ``now`` is the
    clock's (a test gives its own)."""
    now = now or datetime.now(UTC)
    due = select(NotificationGroup).where(
        NotificationGroup.notify_at <= now,
        or_(
            col(NotificationGroup.last_sent_at).is_(None),
            col(NotificationGroup.notify_at) > col(NotificationGroup.last_sent_at),
        ),
    )
    made = 0
    for group in list(await uow.session.exec(due.order_by(col(NotificationGroup.notify_at)).limit(BATCH))):
        made += await _notify_group(uow, group, now)
    return made + await _digests(uow, now)


async def _notify_group(uow: UnitOfWork, group: NotificationGroup, now: datetime) -> int:
    assert group.id is not None
    rows = await uow.session.exec(
        select(AlertAudience, Alert)
        .join(Alert, col(Alert.id) == col(AlertAudience.alert_id))
        .where(AlertAudience.group_id == group.id, col(AlertAudience.notified_at).is_(None))
        .order_by(col(Alert.id))
    )
    pairs = list(rows)
    alerts = [alert for _, alert in pairs if alert.status not in ("resolved", "snoozed")]
    key = stages.notification_key(group.id, group.notify_at)
    made = 0
    for sub in await _subscriptions(uow, group.receiver) if alerts else []:
        chosen = [a for a in alerts if wanted(sub, a)]
        if not chosen or await _exists(uow, sub, key):
            continue
        held = stages.deliver_plan(most_severe(chosen), _quiet(sub), now) == "hold"
        subject, text = compose(chosen)
        uow.session.add(
            Notification(
                subscription_id=sub.id,
                key=key,
                channel=sub.channel,
                alert_ids=[a.id for a in chosen if a.id is not None],
                subject=subject,
                text=text,
                status="held" if held else "pending",
                created_at=now,
            )
        )
        if held:
            alert_metrics().suppressed.labels("quiet_hours").inc()
        made += 1
    for audience, _ in pairs:
        audience.notified_at = now
    group.last_sent_at = group.notify_at
    return made


async def _exists(uow: UnitOfWork, sub: Subscription, key: str) -> bool:
    query = select(Notification.id).where(Notification.subscription_id == sub.id, Notification.key == key)
    return (await uow.session.exec(query)).first() is not None


async def _digests(uow: UnitOfWork, now: datetime) -> int:
    """Each subscription whose quiet spell has ended gets one digest of what it held."""
    held = list(await uow.session.exec(select(Notification).where(Notification.status == "held")))
    by_sub: dict[object, list[Notification]] = {}
    for n in held:
        by_sub.setdefault(n.subscription_id, []).append(n)
    made = 0
    for sub_id, notes in by_sub.items():
        sub = await uow.session.get(Subscription, sub_id)
        quiet = _quiet(sub) if sub else None
        if sub is None or (quiet is not None and quiet.holds(now)):
            continue
        ids = sorted({i for n in notes for i in n.alert_ids})
        alerts = list(
            await uow.session.exec(select(Alert).where(col(Alert.id).in_(ids)).order_by(col(Alert.id)))
        )
        since = min(n.created_at for n in notes)
        key = stages.digest_key(quiet, since) if quiet else f"digest:{since.isoformat()}"
        subject, text = compose(alerts, digest=True)
        if not await _exists(uow, sub, key):
            uow.session.add(
                Notification(
                    subscription_id=sub.id,
                    key=key,
                    channel=sub.channel,
                    alert_ids=ids,
                    subject=subject,
                    text=text,
                    created_at=now,
                )
            )
            made += 1
        for n in notes:
            n.status = "digested"
    return made


async def wake_snoozed(uow: UnitOfWork) -> int:
    """Snoozed alerts whose time has come are active again, each logged (the stream shows it)."""
    now = datetime.now(UTC)
    query = select(Alert).where(Alert.status == "snoozed", col(Alert.snoozed_until) <= now)
    woken = 0
    for alert in await uow.session.exec(query):
        assert alert.id is not None
        alert.status, alert.snoozed_until, alert.changed_at = "active", None, now
        uow.session.add(AlertLogEntry(alert_id=alert.id, kind="returned", reason="the snooze ended", at=now))
        uow.changed(ALERTS_CHANNEL)
        woken += 1
    return woken


# --- sending ------------------------------------------------------------------------------------


class Sender:
    """Sends claimed notifications through the channels, one client each, reused."""

    def __init__(self, settings: NotificationSettings | None = None) -> None:
        self.settings = settings or NotificationSettings()
        self.channels: dict[str, Channel] = {
            "email": EmailChannel(self.settings),
            "webhook": WebhookChannel(self.settings),
        }

    async def __call__(self, units: UnitsOfWork) -> int:
        claimed = await self._claim(units)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._send(n, s) for n, s in claimed))
        async with units() as uow:
            for (note, _), outcome in zip(claimed, outcomes, strict=True):
                row = await uow.session.get(Notification, note.id)
                if row is None:
                    continue
                row.status, row.attempts, row.error = (
                    outcome.status,
                    row.attempts + outcome.attempts,
                    outcome.error,
                )
                row.sent_at = datetime.now(UTC)
                alert_metrics().deliveries.labels(row.channel, outcome.status).inc()
        return len(claimed)

    async def _claim(self, units: UnitsOfWork) -> list[tuple[Notification, Subscription]]:
        now = datetime.now(UTC)
        async with units() as uow:
            query = (
                select(Notification, Subscription)
                .join(Subscription, col(Subscription.id) == col(Notification.subscription_id))
                .where(
                    or_(
                        Notification.status == "pending",
                        and_(Notification.status == "sending", col(Notification.sent_at) < now - CLAIM_LEASE),
                    )
                )
                .order_by(col(Notification.id))
                .limit(BATCH)
            )
            if uow.session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=Notification)
            claimed = list(await uow.session.exec(query))
            for note, _ in claimed:
                note.status, note.sent_at = "sending", now  # sent_at is the claim's time until it is sent
        return [(n, s) for n, s in claimed]

    async def _send(self, note: Notification, sub: Subscription) -> DeliveryOutcome:
        delivery = Delivery(
            delivery_id=f"oversight-notification-{note.id}",
            receiver=sub.address or "",
            subject=note.subject,
            text=note.text,
            payload={
                "subject": note.subject,
                "text": note.text,
                "alert_ids": note.alert_ids,
                "key": note.key,
            },
            signing_secret=sub.secret,
        )
        s = self.settings
        return await deliver(
            self.channels[note.channel],
            delivery,
            attempts=s.delivery_attempts,
            base_delay=s.delivery_base_delay_seconds,
            max_delay=s.delivery_max_delay_seconds,
        )
