"""What notification keeps: alerts, who each is addressed to and what happened to it; silences;
what inhibits alerts (each provider's segment and packages in delivery); users' subscriptions;
groups of alerts waiting to go out; and the log of every notification sent, which is what stops a
redelivered event or a restart from sending the same notification twice.

(No ``from __future__ import annotations``: SQLModel resolves relationship annotations itself.)
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from oversight_runtime.storage import timestamp


class Alert(SQLModel, table=True):
    """One alert; the integer id orders the stream and resumes it (Last-Event-ID).

    ``status`` is where a person (or its cause) left it: ``active``, ``acknowledged``,
    ``snoozed`` (until ``snoozed_until``) or ``resolved``. Whether it was muted when it was issued
    (``silenced`` by a user's silence, ``inhibited`` by a rule) is ``muted``, kept and shown."""

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: UUID = Field(unique=True)
    provider: str = Field(index=True, max_length=5)
    provider_name: str
    #: The alert type, e.g. ``trigger.raised`` or ``support_package.awaiting_sign_off``.
    kind: str
    severity: str = Field(default="normal", max_length=16)
    theme: str | None = Field(default=None, max_length=64)
    title: str
    body: str
    #: What the alert is about, stable across redeliveries (``alerts.AlertFacts.fingerprint``):
    #: an alert whose cause clears is found, and resolved, by it.
    fingerprint: str = Field(default="", index=True, max_length=300)
    status: str = Field(default="active", max_length=16)
    #: ``silenced`` or ``inhibited`` when issued muted; None when it went out.
    muted: str | None = Field(default=None, max_length=16)
    #: Why it was muted: the silence's id, or the inhibition rule's name.
    muted_by: str | None = Field(default=None, max_length=200)
    snoozed_until: datetime | None = timestamp(nullable=True)
    source_event_id: UUID
    source_event_type: str = Field(default="", max_length=100)
    correlation_id: UUID
    occurred_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp()
    changed_at: datetime | None = timestamp(nullable=True)
    # A string, not a postponed annotation: SQLModel reads it to build the relationship.
    audiences: list["AlertAudience"] = Relationship()


class AlertAudience(SQLModel, table=True):
    """An organisation (ICB, region or the trust) or a named team the alert is addressed to: the
    group it goes out in, whether it is muted for this audience and why, and when it went out."""

    __tablename__ = "alert_audience"

    #: Set from the alert when both are written (``Alert.audiences``).
    alert_id: int | None = Field(default=None, foreign_key="alert.id", primary_key=True)
    organisation: str = Field(primary_key=True, max_length=64, index=True)
    group_id: int | None = Field(default=None, foreign_key="notification_group.id", index=True)
    #: ``silenced`` (this audience's silence) or ``inhibited``; None: it goes out.
    muted: str | None = Field(default=None, max_length=16)
    muted_by: str | None = Field(default=None, max_length=200)
    #: When it went out in a group's notification (None: not yet, or muted).
    notified_at: datetime | None = timestamp(nullable=True)


class NotificationGroup(SQLModel, table=True):
    """Alerts of one receiver with the same group key (route, receiver, e.g. provider and theme)
    that go out together: first after the route's ``group_wait``, then as updates no sooner than
    its ``group_interval`` after the last (``stages.join``)."""

    __tablename__ = "notification_group"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    receiver: str = Field(max_length=64)
    route: str = Field(max_length=64)
    group_interval_seconds: float
    opened_at: datetime = timestamp()
    notify_at: datetime = timestamp(index=True)
    last_sent_at: datetime | None = timestamp(nullable=True)


class AlertLogEntry(SQLModel, table=True):
    """One thing that happened to an alert: issued, acknowledged, snoozed, woken, resolved; who
    (from the token, or None for the platform) and why."""

    __tablename__ = "alert_log"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    kind: str = Field(max_length=32)
    actor: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str | None = None
    at: datetime = timestamp()


class Silence(SQLModel, table=True):
    """A user's silence: alerts matching every matcher between ``starts_at`` and ``ends_at`` are
    kept but not sent. Its state (pending, active, expired) follows from the clock."""

    __tablename__ = "silence"

    id: UUID = Field(primary_key=True)
    #: Label → value or values, as the routing tree matches them.
    matchers: dict[str, Any] = Field(sa_type=JSON)
    starts_at: datetime = timestamp()
    ends_at: datetime = timestamp()
    reason: str
    created_by: dict[str, Any] = Field(sa_type=JSON)
    #: The creator's organisation: only its own alerts' audiences are silenced by it.
    organisation: str = Field(max_length=5, index=True)
    created_at: datetime = timestamp()


class KnownSegment(SQLModel, table=True):
    """Each provider's latest decided segment (``segment.decided``): segment 4 inhibits its lower
    alerts, and routes and silences can match on it."""

    __tablename__ = "known_segment"

    provider: str = Field(primary_key=True, max_length=5)
    segment: int
    decided_at: datetime = timestamp()


class PackageRecord(SQLModel, table=True):
    """Each support package's provider, theme and status, from its events: a package's change
    events name no theme, and a package in delivery inhibits its theme's lower alerts."""

    __tablename__ = "package_record"

    package_id: UUID = Field(primary_key=True)
    provider: str = Field(max_length=5, index=True)
    theme: str | None = Field(default=None, max_length=64)
    status: str = Field(default="draft", max_length=16)
    changed_at: datetime = timestamp()


class Subscription(SQLModel, table=True):
    """A user's choice for one channel: which themes, severities and alert types, within what
    their role may see; quiet hours hold non-urgent alerts for a digest."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("user_id", "channel", name="uq_subscription_user_channel"),)

    id: UUID = Field(primary_key=True)
    user_id: str = Field(max_length=200, index=True)
    user_name: str = Field(max_length=200)
    organisation: str = Field(max_length=5, index=True)
    role: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    #: An email address or a webhook URL; None for the live stream.
    address: str | None = Field(default=None, max_length=500)
    #: A webhook's ``whsec_`` signing secret, shown once when made.
    secret: str | None = Field(default=None, max_length=200)
    #: Named teams (``team:<ODS>:<name>``) of its organisation whose alerts it also takes.
    teams: list[str] = Field(default_factory=list, sa_type=JSON)
    themes: list[str] = Field(default_factory=list, sa_type=JSON)
    severities: list[str] = Field(default_factory=list, sa_type=JSON)
    alert_types: list[str] = Field(default_factory=list, sa_type=JSON)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    timezone: str = Field(default="Europe/London", max_length=64)
    created_at: datetime = timestamp()
    changed_at: datetime = timestamp()


class Notification(SQLModel, table=True):
    """The notification log: one row per notification to one subscription. ``key`` names what it
    is (a group's first notice, its update n, a digest) so a second attempt to make it finds it:
    the unique key is the de-duplication across redeliveries, restarts and replicas."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("subscription_id", "key", name="uq_notification_subscription_key"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: UUID = Field(foreign_key="subscription.id")
    key: str = Field(max_length=300)
    channel: str = Field(max_length=16)
    alert_ids: list[int] = Field(sa_type=JSON)
    subject: str
    text: str
    #: ``pending`` (to send), ``held`` (quiet hours: goes in the digest), ``delivered``,
    #: ``failed`` (after the retries), ``digested`` (sent inside a digest).
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    error: str | None = None
    created_at: datetime = timestamp()
    sent_at: datetime | None = timestamp(nullable=True)


TABLES = (
    NotificationGroup,
    Alert,
    AlertAudience,
    AlertLogEntry,
    Silence,
    KnownSegment,
    PackageRecord,
    Subscription,
    Notification,
)
