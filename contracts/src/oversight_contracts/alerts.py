"""Live alerts as events (issue 12): notification publishes what it alerted, and every change to
an alert's state, so other services (the oversight view) show alerts without calling its API.

An alert is about one provider and, usually, one theme; it is addressed to organisations (the
provider's ICBs, its region, the trust itself) or a named team, chosen by the routing tree, never
by what the causing event says. Acknowledging, snoozing and resolving are the single conversation
of para 4: an ICS user's acknowledgement is seen by the region.

Every string and list is bounded, as in the other v1 events of the lifecycle modules.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from oversight_contracts.codes import OdsCode, Theme
from oversight_contracts.envelope import Envelope
from oversight_contracts.events import Actor, Payload, RuleText, ShortText


class AlertSeverity(StrEnum):
    """How soon a person should look: ``urgent`` goes at once, even in quiet hours (a cause for
    concern, para 31); the others may wait for a digest."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    INFO = "info"


#: Why a person acknowledged, snoozed or resolved an alert.
AlertReason = Annotated[str, Field(min_length=1, max_length=2000)]


class AlertData(Payload):
    """What every alert event says about the alert."""

    alert_id: UUID = Field(description="The alert.")
    alert_type: ShortText = Field(
        description="What happened, e.g. `trigger.raised` or `support_package.awaiting_sign_off`."
    )
    severity: AlertSeverity
    provider: OdsCode = Field(description="ODS code of the trust the alert is about.")
    theme: Theme | None = Field(default=None, description="The oversight theme, where there is one.")
    audiences: list[ShortText] = Field(
        min_length=1,
        max_length=20,
        description="Who it is addressed to: ODS codes of ICBs, the region or the trust, or `team:<name>`.",
    )


class AlertIssuedData(AlertData):
    provider_name: ShortText
    title: ShortText
    body: RuleText
    status: Literal["active", "silenced", "inhibited"] = Field(
        description="Active, or muted and kept: by a user's silence or an inhibition rule."
    )
    source_event_id: UUID = Field(description="The event the alert is about.")
    source_event_type: ShortText
    occurred_at: datetime = Field(description="When the causing event happened.")
    issued_at: datetime


class AlertIssued(Envelope[AlertIssuedData]):
    """An event needed a person: notification routed it to its audiences (issue 12)."""

    type: Literal["alert.issued.v1"] = "alert.issued.v1"


class AlertChangeData(AlertData):
    actor: Actor | None = Field(
        description="Who acted, from their verified token; None when the platform acted (a cause cleared)."
    )
    reason: AlertReason | None = Field(default=None, description="Why, in the actor's words.")
    at: datetime


class AlertAcknowledged(Envelope[AlertChangeData]):
    """Someone in scope has the alert in hand; every audience sees who."""

    type: Literal["alert.acknowledged.v1"] = "alert.acknowledged.v1"


class AlertSnoozedData(AlertChangeData):
    until: datetime = Field(description="When the alert returns if nothing else has happened.")


class AlertSnoozed(Envelope[AlertSnoozedData]):
    """The alert is set aside until a time, with a reason; it returns then."""

    type: Literal["alert.snoozed.v1"] = "alert.snoozed.v1"


class AlertResolved(Envelope[AlertChangeData]):
    """The alert is closed: by a person, or by itself when its cause cleared (a trigger cleared,
    a package agreed)."""

    type: Literal["alert.resolved.v1"] = "alert.resolved.v1"


AnyAlertEvent = AlertIssued | AlertAcknowledged | AlertSnoozed | AlertResolved
