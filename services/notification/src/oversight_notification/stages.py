"""The alert pipeline's stages, each a small pure function, composed in one place (``issue`` when
an event arrives; ``due`` and ``deliver_plan`` when notifications go out), in the order
route → group → inhibit → silence → de-duplicate → deliver.

The clock is a parameter everywhere, so every stage is tested on a controlled one. The stages only
decide; ``handlers`` and ``dispatch`` store and send what they decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from oversight_contracts import AlertSeverity
from oversight_notification.facts import AlertFacts
from oversight_notification.routing import (
    InhibitRule,
    Route,
    inhibited_by,
    match_routes,
    matches,
    receivers_of,
)


class Muted(StrEnum):
    """Why an alert (for a receiver) is kept but not sent; a metric counts each."""

    INHIBITED = "inhibited"
    SILENCED = "silenced"


# --- silences -----------------------------------------------------------------------------------


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SilenceRule:
    id: UUID
    organisation: str
    matchers: Mapping[str, Any]
    starts_at: datetime
    ends_at: datetime


def silence_state(silence: SilenceRule, now: datetime) -> SilenceState:
    """Pending before it starts, active from its start until (not at) its end, then expired."""
    if now < silence.starts_at:
        return SilenceState.PENDING
    return SilenceState.ACTIVE if now < silence.ends_at else SilenceState.EXPIRED


def silenced_by(
    labels: Mapping[str, Any], receiver: str, silences: Iterable[SilenceRule], now: datetime
) -> UUID | None:
    """The active silence of ``receiver``'s organisation matching the alert, if any: a team's
    silence quietens its own alerts, never another organisation's."""
    organisation = receiver.split(":")[1] if receiver.startswith("team:") else receiver
    for silence in silences:
        if (
            silence.organisation == organisation
            and silence_state(silence, now) is SilenceState.ACTIVE
            and matches(silence.matchers, labels)
        ):
            return silence.id
    return None


# --- issuing: route → group → inhibit → silence ------------------------------------------------


@dataclass(frozen=True)
class Addressed:
    """One receiver of an alert, by one route: the group it joins and whether it is muted."""

    receiver: str
    route: str
    group_key: str
    group_wait: timedelta
    group_interval: timedelta
    muted: Muted | None = None
    muted_by: str | None = None


def group_key(route: Route, receiver: str, labels: Mapping[str, Any]) -> str:
    """Alerts with the same key (route, receiver, the route's ``group_by`` labels) go out together."""
    values = [f"{name}={labels.get(name, '')}" for name in route.group_by]
    return "|".join([route.name, receiver, *values])[:300]


def issue(
    facts: AlertFacts,
    *,
    routes: Route,
    inhibitions: Sequence[InhibitRule],
    provider_facts: Iterable[Mapping[str, Any]],
    silences: Iterable[SilenceRule],
    now: datetime,
) -> list[Addressed]:
    """Whom an alert goes to and how: the routes it takes, each receiver's group, then
    inhibition (for every receiver) and silences (each receiver's own)."""
    labels = facts.labels()
    addressed: dict[str, Addressed] = {}
    for route in match_routes(routes, labels):
        for receiver in receivers_of(route, facts.provider):
            addressed.setdefault(
                receiver,
                Addressed(
                    receiver,
                    route.name,
                    group_key(route, receiver, labels),
                    route.group_wait,
                    route.group_interval,
                ),
            )
    rule = inhibited_by(labels, provider_facts, inhibitions)
    silences = list(silences)
    out = []
    for a in addressed.values():
        if rule is not None:
            a = replace(a, muted=Muted.INHIBITED, muted_by=rule)
        elif (silence := silenced_by(labels, a.receiver, silences, now)) is not None:
            a = replace(a, muted=Muted.SILENCED, muted_by=str(silence))
        out.append(a)
    return out


def provider_facts(
    provider: str, segment: int | None, delivering_themes: Iterable[str]
) -> list[dict[str, str]]:
    """The provider's current facts, as the inhibition rules' sources match them."""
    facts = [{"state": "segment", "provider": provider, "segment": str(segment)}] if segment else []
    facts += [{"state": "package_in_delivery", "provider": provider, "theme": t} for t in delivering_themes]
    return facts


# --- grouping windows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupWindow:
    """A group's timing: when it opened, when it next goes out, and when it last went out."""

    opened_at: datetime
    notify_at: datetime
    last_sent_at: datetime | None = None


def join(window: GroupWindow | None, wait: timedelta, interval: timedelta, now: datetime) -> GroupWindow:
    """A new alert in a group: a new group goes out after ``group_wait``; a group waiting to go
    out takes the alert with it; a group already sent goes out again, as an update, no sooner
    than ``group_interval`` after it last did."""
    if window is None:
        return GroupWindow(opened_at=now, notify_at=now + wait)
    if window.last_sent_at is None or window.notify_at > window.last_sent_at:
        return window  # waiting to go out: the alert goes with it
    return GroupWindow(window.opened_at, max(now, window.last_sent_at + interval), window.last_sent_at)


def due(window: GroupWindow, now: datetime) -> bool:
    return window.notify_at <= now and (window.last_sent_at is None or window.notify_at > window.last_sent_at)


# --- de-duplicate and deliver -------------------------------------------------------------------


def notification_key(group_id: int, notify_at: datetime) -> str:
    """What one notification of a group is: the same group going out at the same moment is the
    same notification, however often a restart or another replica tries to make it."""
    return f"group:{group_id}:{notify_at.isoformat()}"


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    timezone: str = "Europe/London"

    def holds(self, now: datetime) -> bool:
        """Whether ``now`` is within the quiet hours, which may span midnight (22:00-07:00)."""
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime) -> datetime:
        """When the quiet hours holding at ``now`` end: the digest goes then."""
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end


def deliver_plan(severity: AlertSeverity, quiet: QuietHours | None, now: datetime) -> str:
    """``send`` now, or ``hold`` for the digest: only non-urgent alerts wait for quiet hours to end."""
    if quiet is None or severity is AlertSeverity.URGENT or not quiet.holds(now):
        return "send"
    return "hold"


def digest_key(quiet: QuietHours, held_since: datetime) -> str:
    """One digest per subscription per quiet spell: named by when that spell ends."""
    return f"digest:{quiet.ends_after(held_since).isoformat()}"
