"""The alert pipeline's stages on a controlled clock (issue 12 point 2): silence states, group
windows, inhibition and silences composed in ``issue``, notification keys, quiet hours and
digests; and which events become which alerts (``facts``)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4

import pytest

from oversight_contracts import (
    AlertSeverity,
    Theme,
    TriggerCleared,
    TriggerClearedData,
    TriggerRaisedV2,
    TriggerRaisedV2Data,
)
from oversight_contracts.frameworks import load_pack
from oversight_notification import facts as alert_facts
from oversight_notification.routing import load_routing
from oversight_notification.stages import (
    Addressed,
    GroupWindow,
    Muted,
    QuietHours,
    SilenceRule,
    SilenceState,
    deliver_plan,
    digest_key,
    due,
    issue,
    join,
    notification_key,
    provider_facts,
    silence_state,
)
from oversight_runtime.reference import load_registry

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REGISTRY = load_registry()
PACK = load_pack("nof-2019")
ROUTES, RULES = load_routing()
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


def _silence(start: datetime, end: datetime, organisation: str = "QMJ", **matchers: str) -> SilenceRule:
    return SilenceRule(uuid4(), organisation, matchers or {"provider": "RAL"}, start, end)


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (NOW - SECOND, SilenceState.PENDING),
        (NOW, SilenceState.ACTIVE),  # from its start
        (NOW + MINUTE, SilenceState.ACTIVE),
        (NOW + 2 * MINUTE - SECOND, SilenceState.ACTIVE),
        (NOW + 2 * MINUTE, SilenceState.EXPIRED),  # not at its end
    ],
)
def test_a_silences_state_follows_from_the_clock(at: datetime, state: SilenceState) -> None:
    assert silence_state(_silence(NOW, NOW + 2 * MINUTE), at) is state


def _trigger(
    provider: str = "RAL", concern: bool = False, theme: Theme = Theme.QUALITY_OF_CARE
) -> TriggerRaisedV2:
    return TriggerRaisedV2.new(
        source="metrics",
        subject=provider,
        data=TriggerRaisedV2Data(
            trigger_id=UUID(int=5),
            provider=provider,
            code="cqc_rating",
            theme=theme,
            evidence="CQC rated the trust requires improvement overall",
            source="provider_facts:1",
            framework_paragraph="para 37",
            raised_at=NOW,
            key="cqc_rating",
            cause_for_concern=concern,
        ),
    )


def _facts(event: TriggerRaisedV2, segment: int | None = 2) -> alert_facts.AlertFacts:
    ctx = alert_facts.Context(REGISTRY.provider(event.data.provider), segment, PACK)
    reading = alert_facts.read(event, ctx)
    assert reading.alert is not None
    return reading.alert


def test_a_cause_for_concern_is_urgent_and_others_high() -> None:
    urgent, high = _facts(_trigger(concern=True)), _facts(_trigger())
    assert (urgent.severity, high.severity) == (AlertSeverity.URGENT, AlertSeverity.HIGH)
    assert "cause for concern" in urgent.title and urgent.fingerprint == f"trigger:{UUID(int=5)}"
    assert urgent.labels()["icb"] == ("QMJ",) and urgent.labels()["region"] == "Y56"


def test_a_cleared_trigger_settles_its_alert_and_raises_none() -> None:
    cleared = TriggerCleared.new(
        source="metrics",
        subject="RAL",
        data=TriggerClearedData(
            trigger_id=UUID(int=5),
            provider="RAL",
            code="cqc_rating",
            theme=Theme.QUALITY_OF_CARE,
            key="cqc_rating",
            cleared_at=NOW,
            reason="re-rated good",
        ),
    )
    ctx = alert_facts.Context(REGISTRY.provider("RAL"), 2, PACK)
    assert alert_facts.read(cleared, ctx) == alert_facts.Reading(None, (f"trigger:{UUID(int=5)}",))


def _issue(
    facts: alert_facts.AlertFacts,
    *,
    facts_of: tuple[dict[str, str], ...] = (),
    silences: tuple[SilenceRule, ...] = (),
) -> list[Addressed]:
    return issue(facts, routes=ROUTES, inhibitions=RULES, provider_facts=facts_of, silences=silences, now=NOW)


def test_an_alert_goes_to_the_providers_icbs_and_region_grouped_by_provider_and_theme() -> None:
    addressed = _issue(_facts(_trigger()))
    assert [(a.receiver, a.route, a.muted) for a in addressed] == [
        ("QMJ", "oversight-teams", None),
        ("Y56", "oversight-teams", None),
    ]
    assert addressed[0].group_key == "oversight-teams|QMJ|provider=RAL|theme=quality_of_care"
    assert addressed[0].group_wait == 30 * SECOND


def test_inhibited_for_every_receiver_while_the_provider_is_in_segment_4_unless_urgent() -> None:
    segment_4 = provider_facts("RAL", 4, [])
    muted = _issue(_facts(_trigger(), segment=4), facts_of=tuple(segment_4))
    assert {(a.muted, a.muted_by) for a in muted} == {(Muted.INHIBITED, "segment-4-mutes-lower-alerts")}
    urgent = _issue(_facts(_trigger(concern=True), segment=4), facts_of=tuple(segment_4))
    assert {a.muted for a in urgent} == {None} and urgent[0].group_wait == 0 * SECOND


def test_a_silence_mutes_only_its_own_organisations_copy_while_active() -> None:
    silence = _silence(NOW - MINUTE, NOW + MINUTE)
    addressed = {a.receiver: a for a in _issue(_facts(_trigger()), silences=(silence,))}
    assert (addressed["QMJ"].muted, addressed["QMJ"].muted_by) == (Muted.SILENCED, str(silence.id))
    assert addressed["Y56"].muted is None, "the region still hears of it"
    expired = _silence(NOW - 2 * MINUTE, NOW - MINUTE)
    assert {a.muted for a in _issue(_facts(_trigger()), silences=(expired,))} == {None}
    other = _silence(NOW - MINUTE, NOW + MINUTE, provider="RJ1")
    assert {a.muted for a in _issue(_facts(_trigger()), silences=(other,))} == {None}


WAIT, INTERVAL = 30 * SECOND, 5 * MINUTE


def test_five_alerts_within_the_group_wait_go_out_as_one_notification() -> None:
    window = None
    for i in range(5):
        window = join(window, WAIT, INTERVAL, NOW + i * SECOND)
    assert window == GroupWindow(opened_at=NOW, notify_at=NOW + WAIT)
    assert not due(window, NOW + WAIT - SECOND) and due(window, NOW + WAIT)
    assert notification_key(7, window.notify_at) == f"group:7:{(NOW + WAIT).isoformat()}"


def test_a_later_alert_updates_the_sent_group_no_sooner_than_the_interval() -> None:
    sent = GroupWindow(NOW, NOW + WAIT, last_sent_at=NOW + WAIT)
    assert not due(sent, NOW + 10 * MINUTE), "sent, nothing new"
    soon = join(sent, WAIT, INTERVAL, NOW + WAIT + MINUTE)
    assert soon.notify_at == NOW + WAIT + INTERVAL, "within the interval: waits for its end"
    late = join(sent, WAIT, INTERVAL, NOW + WAIT + 2 * INTERVAL)
    assert late.notify_at == NOW + WAIT + 2 * INTERVAL, "after the interval: at once"
    assert join(soon, WAIT, INTERVAL, NOW + WAIT + 2 * MINUTE) == soon, "an update waiting takes it along"


LONDON_NIGHT = QuietHours(time(22, 0), time(7, 0))  # spans midnight, London time


@pytest.mark.parametrize(
    ("at", "holds"),
    [
        (datetime(2026, 11, 23, 21, 59, tzinfo=UTC), False),  # GMT in November: London = UTC
        (datetime(2026, 11, 23, 22, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 24, 3, 0, tzinfo=UTC), True),
        (datetime(2026, 11, 24, 7, 0, tzinfo=UTC), False),
        (datetime(2026, 7, 1, 21, 30, tzinfo=UTC), True),  # BST: 22:30 in London
    ],
)
def test_quiet_hours_spanning_midnight_in_london_time(at: datetime, holds: bool) -> None:
    assert LONDON_NIGHT.holds(at) is holds


def test_during_quiet_hours_non_urgent_alerts_wait_for_one_digest_and_urgent_go_at_once() -> None:
    night = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert deliver_plan(AlertSeverity.URGENT, LONDON_NIGHT, night) == "send"
    assert deliver_plan(AlertSeverity.HIGH, LONDON_NIGHT, night) == "hold"
    assert deliver_plan(AlertSeverity.HIGH, None, night) == "send"
    assert deliver_plan(AlertSeverity.HIGH, LONDON_NIGHT, night.replace(hour=12)) == "send"
    # Everything held in one night's spell shares one digest, sent when the spell ends.
    keys = {digest_key(LONDON_NIGHT, night + timedelta(hours=h)) for h in range(0, 8)}
    assert keys == {"digest:2026-11-24T07:00:00+00:00"}
    assert LONDON_NIGHT.ends_after(night) == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
