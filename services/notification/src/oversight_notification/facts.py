"""Which events need a person, and what the alert about each says, free of I/O.

Issue 12 names them: a trigger raised (a cause for concern is urgent: para 31 acts on it before
the quarterly review), a support need identified, a segment proposed and decided, an exception
report received, a package awaiting sign-off, signed off, agreed, a milestone missed, an exit
proposed, an escalation. Each becomes ``AlertFacts``: the labels routing, inhibition and
silences match on, the words people read, and a ``fingerprint`` naming what the alert is about,
stable across redeliveries. Some events also settle earlier alerts (``resolves``): a trigger
cleared, a need resolved, a package agreed after waiting for sign-off, a decision on a proposal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from oversight_contracts import (
    AlertSeverity,
    Envelope,
    ExceptionReportReceived,
    ExceptionReportReceivedV2,
    SegmentDecided,
    SegmentDecidedV2,
    SegmentProposed,
    SegmentProposedV2,
    SupportNeedIdentified,
    SupportNeedIdentifiedV2,
    SupportNeedResolved,
    SupportNeedResolvedV2,
    SupportPackageAgreed,
    SupportPackageEscalated,
    SupportPackageExited,
    SupportPackageExitProposed,
    SupportPackageMilestoneMissed,
    SupportPackageProposed,
    SupportPackageProposedV2,
    SupportPackagePutForward,
    SupportPackageSignedOff,
    SupportPackageWithdrawn,
    TriggerCleared,
    TriggerClearedV2,
    TriggerRaised,
    TriggerRaisedV2,
)
from oversight_contracts.frameworks import FrameworkPack
from oversight_runtime.reference import Provider

URGENT, HIGH, NORMAL, INFO = (
    AlertSeverity.URGENT,
    AlertSeverity.HIGH,
    AlertSeverity.NORMAL,
    AlertSeverity.INFO,
)


@dataclass(frozen=True)
class Context:
    """What an event is read against: the provider from the registry (never the event's word for
    its ICBs or region), its current segment, the package's theme where the event has none, and
    the framework pack (an exception report's category → theme)."""

    provider: Provider
    segment: int | None
    pack: FrameworkPack
    package_theme: str | None = None


@dataclass(frozen=True)
class AlertFacts:
    alert_type: str
    severity: AlertSeverity
    provider: Provider
    theme: str | None
    segment: int | None
    title: str
    body: str
    fingerprint: str
    occurred_at: datetime

    def labels(self) -> dict[str, str | tuple[str, ...]]:
        """What routes, inhibition rules and silences match on; ``icb`` has every ICB."""
        return {
            "alert_type": self.alert_type,
            "severity": self.severity.value,
            "provider": self.provider.ods_code,
            "theme": self.theme or "",
            "icb": self.provider.icbs,
            "region": self.provider.region,
            "segment": "" if self.segment is None else str(self.segment),
        }


@dataclass(frozen=True)
class Reading:
    """What one event means for alerts: one to issue (or none) and fingerprints it settles."""

    alert: AlertFacts | None = None
    resolves: tuple[str, ...] = field(default=())


def _label(text: str) -> str:
    return text.replace("_", " ")


def _at(value: Any) -> datetime:
    """An event's own time as a datetime (a date is taken at midnight UTC)."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


def _facts(
    ctx: Context,
    alert_type: str,
    severity: AlertSeverity,
    theme: str | None,
    what: str,
    body: str,
    fingerprint: str,
    at: Any,
) -> AlertFacts:
    provider = ctx.provider
    return AlertFacts(
        alert_type=alert_type,
        severity=severity,
        provider=provider,
        theme=theme,
        segment=ctx.segment,
        title=f"{provider.name} ({provider.ods_code}): {what}"[:200],
        body=body[:5000],
        fingerprint=fingerprint[:300],
        occurred_at=_at(at),
    )


# --- one reader per event -----------------------------------------------------------------------


def _trigger_raised(e: Any, ctx: Context) -> Reading:
    d = e.data
    concern = bool(getattr(d, "cause_for_concern", False))
    what = f"{'cause for concern: ' if concern else ''}trigger {_label(d.code)} under {_label(d.theme.value)}"
    body = f"{d.evidence} ({d.framework_paragraph})"
    fingerprint = f"trigger:{d.trigger_id}"
    return Reading(
        _facts(
            ctx,
            "trigger.raised",
            URGENT if concern else HIGH,
            d.theme.value,
            what,
            body,
            fingerprint,
            d.raised_at,
        )
    )


def _trigger_cleared(e: Any, ctx: Context) -> Reading:
    return Reading(resolves=(f"trigger:{e.data.trigger_id}",))


def _need_identified(e: Any, ctx: Context) -> Reading:
    d = e.data
    what = f"support need identified under {_label(d.theme.value)}"
    return Reading(
        _facts(
            ctx,
            "support_need.identified",
            NORMAL,
            d.theme.value,
            what,
            d.reason,
            f"need:{d.need_id}",
            d.identified_at,
        )
    )


def _need_resolved(e: Any, ctx: Context) -> Reading:
    return Reading(resolves=(f"need:{e.data.need_id}",))


def _segment_proposed(e: Any, ctx: Context) -> Reading:
    d = e.data
    severity = HIGH if d.decision_timing == "immediate" else NORMAL
    what = f"segment {d.proposed_segment} proposed ({d.segment_name}), decision {_label(d.decision_timing)}"
    body = "; ".join(d.rationale)
    return Reading(
        _facts(
            ctx, "segment.proposed", severity, None, what, body, f"proposal:{d.proposal_id}", d.proposed_at
        )
    )


def _segment_decided(e: Any, ctx: Context) -> Reading:
    d = e.data
    severity = HIGH if d.segment >= 3 else NORMAL
    what = f"segment {d.segment} decided (was {d.previous_segment or 'none'})"
    resolves = (f"proposal:{d.proposal_id}",) if d.proposal_id else ()
    fingerprint = f"decision:{d.decision_id}"
    return Reading(
        _facts(ctx, "segment.decided", severity, None, what, d.reason, fingerprint, d.decided_at), resolves
    )


def _exception_report(e: Any, ctx: Context) -> Reading:
    d = e.data
    rule = ctx.pack.exception_reports.get(d.category)
    theme = rule.theme.value if rule else None
    what = f"exception report: {_label(d.category.value)}"
    fingerprint = f"report:{d.report_id}"
    return Reading(
        _facts(ctx, "exception_report.received", HIGH, theme, what, d.summary, fingerprint, d.occurred_on)
    )


def _package_drafted(e: Any, ctx: Context) -> Reading:
    d = e.data
    what = f"draft support package under {_label(d.theme.value)}"
    return Reading(
        _facts(
            ctx,
            "support_package.proposed",
            NORMAL,
            d.theme.value,
            what,
            d.summary,
            f"package:{d.package_id}:draft",
            d.proposed_at,
        )
    )


def _package(
    alert_type: str, severity: AlertSeverity, what: str, key: str, resolves: tuple[str, ...] = ()
) -> Callable[[Any, Context], Reading]:
    """A reader for a support-package change: ``what`` and ``key`` are formatted with the event's
    data (``{d.status}``), ``key`` after ``package:<id>:``; ``resolves`` likewise."""

    def read(e: Any, ctx: Context) -> Reading:
        d = e.data
        theme = ctx.package_theme
        text = what.format(d=d, theme=_label(theme or "its theme"))
        by = f"{d.actor.name} ({d.actor.role}, {d.actor.organisation})" if d.actor else "monitoring"
        body = f"{text[:1].upper()}{text[1:]}, by {by}." + (f" {d.reason}" if d.reason else "")
        prefix = f"package:{d.package_id}:"
        facts = (
            _facts(ctx, alert_type, severity, theme, text, body, prefix + key.format(d=d), d.at)
            if alert_type
            else None
        )
        return Reading(facts, tuple(prefix + r.format(d=d) for r in resolves))

    return read


READERS: dict[type[Envelope[Any]], Callable[[Any, Context], Reading]] = {
    TriggerRaised: _trigger_raised,
    TriggerRaisedV2: _trigger_raised,
    TriggerCleared: _trigger_cleared,
    TriggerClearedV2: _trigger_cleared,
    SupportNeedIdentified: _need_identified,
    SupportNeedIdentifiedV2: _need_identified,
    SupportNeedResolved: _need_resolved,
    SupportNeedResolvedV2: _need_resolved,
    SegmentProposed: _segment_proposed,
    SegmentProposedV2: _segment_proposed,
    SegmentDecided: _segment_decided,
    SegmentDecidedV2: _segment_decided,
    ExceptionReportReceived: _exception_report,
    ExceptionReportReceivedV2: _exception_report,
    SupportPackageProposed: _package_drafted,
    SupportPackageProposedV2: _package_drafted,
    SupportPackagePutForward: _package(
        "support_package.awaiting_sign_off",
        HIGH,
        "support package under {theme} awaits sign-off by the ICS and the region",
        "sign_off",
    ),
    SupportPackageSignedOff: _package(
        "support_package.signed_off",
        NORMAL,
        "support package under {theme} signed off by one side",
        "signed_off:{d.at:%Y%m%d%H%M%S%f}",
    ),
    SupportPackageAgreed: _package(
        "support_package.agreed",
        NORMAL,
        "support package under {theme} agreed",
        "agreed",
        resolves=("sign_off", "escalated"),
    ),
    SupportPackageMilestoneMissed: _package(
        "support_package.milestone_missed",
        HIGH,
        "support package under {theme} missed a milestone",
        "missed:{d.period}{d.plan_item_id}",
    ),
    SupportPackageExitProposed: _package(
        "support_package.exit_proposed",
        NORMAL,
        "exit proposed from the support package under {theme}",
        "exit",
    ),
    SupportPackageEscalated: _package(
        "support_package.escalated", URGENT, "support package under {theme} escalated", "escalated"
    ),
    SupportPackageExited: _package("", INFO, "", "", resolves=("exit", "sign_off", "escalated")),
    SupportPackageWithdrawn: _package("", INFO, "", "", resolves=("sign_off", "exit", "escalated")),
}


def read(event: Envelope[Any], ctx: Context) -> Reading:
    """What ``event`` means for alerts; an event no reader knows means nothing."""
    reader = READERS.get(type(event))
    return reader(event, ctx) if reader else Reading()
