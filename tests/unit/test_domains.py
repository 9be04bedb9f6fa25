"""Each service's pure domain rules, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from oversight_contracts import (
    Actor,
    ExceptionReportCategory,
    ExceptionReportReceived,
    ExceptionReportReceivedData,
    IcsViewTaken,
    ObservationValue,
    SegmentDecidedV2,
    SegmentProposed,
    SubmissionReceivedV2,
    SubmissionReceivedV2Data,
    SupportNeedIdentified,
    SupportNeedIdentifiedData,
    SupportPackageProposedV2,
    Theme,
    TriggerRaised,
    TriggerRaisedData,
)
from oversight_contracts.frameworks import UnknownFramework, load_pack
from oversight_contracts.scenario import MetricScores, ProviderFacts, ScenarioExceptionReport, Trigger
from oversight_ingest import domain as ingest
from oversight_ingest.models import ExceptionReportCreate, SubmissionCreate
from oversight_metrics import domain as metrics
from oversight_notification import facts as alert_facts
from oversight_notification.routing import load_routing
from oversight_notification.stages import issue
from oversight_runtime.errors import Rejected
from oversight_runtime.reference import Provider, load_registry
from oversight_segmentation import domain as segmentation
from oversight_support_coordination import domain as support
from oversight_support_coordination.catalogue import load_catalogue

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
REGISTRY = load_registry()
PACK = load_pack("nof-2019")
SCORED_PACK = load_pack("nof-2025")
TRUST_USER = Actor(user_id="rj1.submitter", name="Asha Patel", organisation="RJ1", role="trust_submitter")
REGION_USER = Actor(user_id="y56.decider", name="Helen Wright", organisation="Y56", role="regional_decider")
ICS_LEAD = Actor(user_id="qkk.lead", name="Grace Adeyemi", organisation="QKK", role="ics_lead")


def _report(
    category: ExceptionReportCategory = ExceptionReportCategory.QUALIFIED_AUDIT_RISK,
) -> ExceptionReportReceived:
    return ExceptionReportReceived.new(
        source="ingest",
        subject="RJ1",
        data=ExceptionReportReceivedData(
            report_id=uuid4(),
            provider="RJ1",
            category=category,
            summary="Auditors signal a qualified opinion.",
            occurred_on=date(2026, 10, 1),
            reported_by="CFO",
        ),
    )


# --- ingest ---------------------------------------------------------------------------------


def test_ingest_accepts_a_known_provider_and_keeps_the_request_correlation() -> None:
    correlation = uuid4()
    event = ingest.accept_exception_report(
        ExceptionReportCreate(
            provider="RJ1",
            category="cqc_warning_notice",
            summary="x",
            occurred_on=date(2026, 10, 1),
        ),
        registry=REGISTRY,
        report_id=uuid4(),
        today=date(2026, 10, 5),
        correlation_id=correlation,
        actor=TRUST_USER,
    )
    assert event.subject == "RJ1" and event.correlation_id == correlation and event.source == "ingest"
    assert event.data.actor == TRUST_USER  # who reported it comes from the token, not the body


def test_ingest_rejects_unknown_provider_naming_the_field() -> None:
    with pytest.raises(Rejected) as rejected:
        ingest.accept_submission(
            SubmissionCreate(
                provider="ZZZ99",
                period="2026-09",
                observations=[{"metric": "q_hsmr", "value": 1}],
            ),
            registry=REGISTRY,
            framework=PACK,
            submission_id=uuid4(),
            today=date(2026, 10, 5),
            correlation_id=uuid4(),
            actor=TRUST_USER,
        )
    assert rejected.value.detail()[0]["loc"] == ["body", "provider"]
    assert "ZZZ99" in str(rejected.value.detail()[0]["msg"])


def test_ingest_reports_every_problem_of_a_submission_at_once() -> None:
    with pytest.raises(Rejected) as rejected:
        ingest.accept_submission(
            SubmissionCreate(
                provider="RJ1",
                period="2026-11",
                observations=[
                    {"metric": "q_hsmr", "value": 1},
                    {"metric": "q_hsmr", "value": 2},
                    {"metric": "q_made_up", "value": 3},
                    {"metric": "op_ae_4hr_pct", "value": 104.0},
                ],
            ),
            registry=REGISTRY,
            framework=PACK,
            submission_id=uuid4(),
            today=date(2026, 10, 5),
            correlation_id=uuid4(),
            actor=TRUST_USER,
        )
    assert [(p["type"], p["loc"]) for p in rejected.value.detail()] == [
        ("period_in_future", ["body", "period"]),
        ("duplicate_metric", ["body", "observations", 1, "metric"]),
        ("unknown_metric", ["body", "observations", 2, "metric"]),
        ("value_out_of_bounds", ["body", "observations", 3, "value"]),
    ]


# --- metrics --------------------------------------------------------------------------------


def _history(**overrides: object) -> metrics.ProviderHistory:
    fields: dict[str, object] = {
        "provider": REGISTRY.provider("RJ1"),
        "series": {},
        "facts": {},
        "exception_reports": [],
        "material_concerns": [],
    }
    fields.update(overrides)
    return metrics.ProviderHistory(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("category", list(ExceptionReportCategory))
def test_every_exception_category_raises_a_trigger_under_its_mapped_theme(
    category: ExceptionReportCategory,
) -> None:
    # para 21 and Figure 2: every category is mapped in the pack, with its source
    report = ScenarioExceptionReport(category=category, received=NOW.date(), summary="s")
    evaluation = metrics.evaluate_provider(_history(exception_reports=[report]), PACK, NOW.date())
    [trigger] = evaluation.triggers
    assert trigger.code == PACK.exception_reports[category].trigger
    assert trigger.theme == PACK.exception_reports[category].theme
    assert trigger.source.startswith(("para", "Figure"))


def test_unknown_framework_is_named() -> None:
    with pytest.raises(UnknownFramework, match="nof-1999"):
        load_pack("nof-1999")


def test_only_new_triggers_are_raised_and_only_gone_ones_cleared() -> None:
    cause = _report()
    found = metrics.evaluate_provider(
        _history(series={"op_ae_4hr_pct": {24320: 90.0, 24321: 89.0}}), PACK, date(2026, 10, 5)
    ).triggers
    assert [t.key for t in found] == ["operational_standard_failed:op_ae_4hr_pct"]
    still = metrics.OpenTrigger(uuid4(), found[0].key, found[0].code, found[0].theme, "op_ae_4hr_pct")
    gone = metrics.OpenTrigger(uuid4(), "cqc_rating", "cqc_rating", "quality_of_care", None)
    changes = metrics.trigger_changes(found, [still, gone], causes=[cause], now=NOW)
    assert changes.raised == []
    assert [(c.data.key, c.data.trigger_id) for c in changes.cleared] == [("cqc_rating", gone.trigger_id)]
    fresh = metrics.trigger_changes(found, [], causes=[cause], now=NOW)
    assert [r.data.key for r in fresh.raised] == [found[0].key]
    assert fresh.raised[0].causation_id == cause.id


def test_triggers_raised_together_are_each_caused_by_the_event_they_follow_from() -> None:
    """A batch with two reports about one provider re-evaluates it once; each trigger still names
    its own report as cause (and so carries its correlation id), a return's trigger its return."""
    audit, scrutiny = _report(), _report(ExceptionReportCategory.ADVERSE_SCRUTINY_REPORT)
    history = _history(
        series={"op_ae_4hr_pct": {24320: 90.0, 24321: 89.0}},
        exception_reports=[
            ScenarioExceptionReport(category=r.data.category, received=NOW.date(), summary="s")
            for r in (audit, scrutiny)
        ],
    )
    found = metrics.evaluate_provider(history, PACK, date(2026, 10, 5)).triggers
    review = metrics.reviews_due(["RJ1"], [], NOW.date())[0]
    raised = metrics.trigger_changes(found, [], causes=[audit, scrutiny, review], now=NOW).raised
    cause_by_key = {r.data.key: r.causation_id for r in raised}
    assert cause_by_key[f"exception_report:{audit.data.category.value}"] == audit.id
    assert cause_by_key[f"exception_report:{scrutiny.data.category.value}"] == scrutiny.id
    assert cause_by_key["operational_standard_failed:op_ae_4hr_pct"] == review.id  # none bears on it
    assert {r.correlation_id for r in raised if r.causation_id == audit.id} == {audit.correlation_id}


def test_scores_are_published_under_a_scored_framework_only_when_they_change() -> None:
    # NOF 2025/26: each metric scored 1.00-4.00 on its latest month, then the mean
    history = _history(
        series={"op_ae_4hr_pct": {24320: 95.0, 24321: 61.0}, "fin_ie_margin_pct": {24321: -0.5}}
    )
    scores = metrics.evaluate_provider(history, SCORED_PACK, date(2026, 10, 5)).scores
    assert scores is not None
    first = metrics.scores_calculated(scores, None, SCORED_PACK, cause=_report(), now=NOW)
    assert first is not None
    assert first.data.framework == "nof-2025"
    assert first.data.metric_scores == {"op_ae_4hr_pct": 4.0, "fin_ie_margin_pct": 2.5}
    assert first.data.mean_score == 3.25
    assert first.data.in_financial_deficit  # a negative margin is the deficit test
    assert metrics.scores_calculated(scores, scores, SCORED_PACK, cause=_report(), now=NOW) is None
    unscored = metrics.evaluate_provider(history, PACK, date(2026, 10, 5)).scores
    assert metrics.scores_calculated(unscored, None, PACK, cause=_report(), now=NOW) is None


def test_submission_gives_one_evaluation_per_value_with_its_indicator_reading() -> None:
    submission = SubmissionReceivedV2.new(
        source="ingest",
        subject="RJ1",
        data=SubmissionReceivedV2Data(
            submission_id=uuid4(),
            provider="RJ1",
            period="2026-09",
            observations=[
                ObservationValue(metric="op_ae_4hr_pct", value=71.0),
                ObservationValue(metric="q_hsmr", value=102),
            ],
            actor=TRUST_USER,
        ),
    )
    series = {"op_ae_4hr_pct": {24320: 71.0}, "q_hsmr": {24320: 102.0}}
    evaluations = metrics.evaluations_for_submission(submission, {"q_hsmr"}, series, PACK)
    assert [(e.data.metric, e.data.revised, e.data.standard_met) for e in evaluations] == [
        ("op_ae_4hr_pct", False, False),  # para 47: A&E 4-hour standard 95%
        ("q_hsmr", True, None),  # no standard for HSMR
    ]
    assert all(e.data.variation is None for e in evaluations)  # fewer than 12 points
    assert all(e.causation_id == submission.id for e in evaluations)


# --- segmentation ---------------------------------------------------------------------------


def _trigger(theme: Theme = Theme.FINANCE_AND_USE_OF_RESOURCES) -> TriggerRaised:
    return TriggerRaised.new(
        source="metrics",
        subject="RJ1",
        data=TriggerRaisedData(
            trigger_id=uuid4(),
            provider="RJ1",
            code="exception_report",
            theme=theme,
            evidence="qualified audit risk reported",
            source="test",
            framework_paragraph="para 21",
            raised_at=NOW,
            key="exception_report:qualified_audit_risk",
        ),
    )


def test_first_trigger_under_a_theme_identifies_a_need() -> None:
    trigger = _trigger()
    decision = segmentation.assess_trigger(trigger, None, new_need_id=uuid4(), now=NOW)
    assert decision.identified is not None
    assert decision.identified.data.theme is trigger.data.theme
    assert decision.identified.data.trigger_ids == [trigger.data.trigger_id]
    assert "para 21" in decision.identified.data.reason


def test_trigger_under_an_open_need_joins_it_without_a_new_event() -> None:
    open_need = uuid4()
    decision = segmentation.assess_trigger(_trigger(), open_need, new_need_id=uuid4(), now=NOW)
    assert decision == segmentation.NeedDecision(open_need, None)


def _engine_trigger(theme: Theme, key: str, *, concern: bool = False) -> Trigger:
    return Trigger(
        code="exception_report",
        theme=theme,
        metric=None,
        evidence="e",
        source="para 21",
        key=key,
        cause_for_concern=concern,
    )


def test_segment_proposal_follows_table_2_and_is_only_republished_on_change() -> None:
    active = [_engine_trigger(Theme.QUALITY_OF_CARE, "a")]
    cause = _trigger()
    first = segmentation.propose_segment(
        PACK,
        active,
        ProviderFacts(licence="compliant"),
        latest=None,
        proposal_id=uuid4(),
        cause=cause,
        now=NOW,
    )
    assert first is not None
    assert first.data.proposed_segment == 2  # Table 2: a support need, licence compliant
    assert first.data.pathway[0].segment_after == 1
    latest = segmentation.LatestProposal(
        first.data.proposed_segment, first.data.decision_timing, frozenset(first.data.trigger_keys)
    )
    again = segmentation.propose_segment(
        PACK,
        active,
        ProviderFacts(licence="compliant"),
        latest=latest,
        proposal_id=uuid4(),
        cause=cause,
        now=NOW,
    )
    assert again is None
    breach = segmentation.propose_segment(
        PACK,
        active,
        ProviderFacts(licence="breach"),
        latest=latest,
        proposal_id=uuid4(),
        cause=cause,
        now=NOW,
    )
    assert breach is not None and breach.data.proposed_segment == 3  # Table 2 segment 3


def test_a_review_date_that_has_passed_gives_a_proposal_for_the_next_review() -> None:
    # para 31: for a segment 1 provider the change waits for the quarterly review
    active = [_engine_trigger(Theme.QUALITY_OF_CARE, "a")]
    facts = ProviderFacts(licence="compliant", current_segment=1)

    def propose(on: datetime, latest: segmentation.LatestProposal | None) -> SegmentProposed | None:
        return segmentation.propose_segment(
            PACK, active, facts, latest=latest, proposal_id=uuid4(), cause=_trigger(), now=on
        )

    first = propose(NOW, None)
    assert first is not None and first.data.decision_timing == "next_quarterly_review"
    assert first.data.review_date == date(2027, 1, 1)
    latest = segmentation.LatestProposal(
        2, first.data.decision_timing, frozenset(first.data.trigger_keys), None, first.data.review_date
    )
    assert propose(datetime(2027, 1, 1, 9, tzinfo=UTC), latest) is None  # the review day itself
    later = propose(datetime(2027, 1, 2, 9, tzinfo=UTC), latest)
    assert later is not None and later.data.review_date == date(2027, 4, 1)


def test_scored_proposal_follows_the_mean_score_and_the_deficit_floor() -> None:
    cause = _trigger()

    def propose(
        mean: float, deficit: bool, latest: segmentation.LatestProposal | None = None
    ) -> SegmentProposed | None:
        scores = MetricScores(metrics={"op_ae_4hr_pct": mean}, mean=mean, in_financial_deficit=deficit)
        return segmentation.propose_segment(
            SCORED_PACK, [], ProviderFacts(), scores, latest=latest, proposal_id=uuid4(), cause=cause, now=NOW
        )

    def segment(mean: float, deficit: bool) -> int:
        proposal = propose(mean, deficit)
        assert proposal is not None
        return proposal.data.proposed_segment

    # cut-offs 1.50 / 2.50 / 3.50 (nof-2025 pack, chosen default); in deficit: no better than 3
    assert [segment(m, False) for m in (1.2, 2.0, 3.2, 3.8)] == [1, 2, 3, 4]
    assert segment(1.2, True) == 3
    floored = propose(1.2, True)
    assert floored is not None and any("deficit" in r for r in floored.data.rationale)
    same = segmentation.LatestProposal(3, floored.data.decision_timing, frozenset(), 1.2)
    assert propose(1.2, True, same) is None
    assert propose(1.3, True, same) is not None  # a changed mean is stated in a new proposal
    unscored = segmentation.propose_segment(
        SCORED_PACK, [], ProviderFacts(), None, latest=None, proposal_id=uuid4(), cause=cause, now=NOW
    )
    assert unscored is None  # no proposal until metrics has sent the scores


def _view(icb: str, at: datetime, text: str = "agree") -> IcsViewTaken:
    return IcsViewTaken(view_id=uuid4(), icb=icb, view=text, actor=ICS_LEAD, recorded_at=at)


def _decide(request: segmentation.DecisionRequest, views: list[IcsViewTaken]) -> object:
    return segmentation.decide_segment(
        request,
        PACK,
        actor=REGION_USER,
        ics_views=views,
        previous_segment=None,
        decision_id=uuid4(),
        correlation_id=uuid4(),
        now=NOW,
    )


def test_a_decision_names_an_unknown_segment_or_foreign_proposal() -> None:
    request = segmentation.DecisionRequest(
        provider="RJ1", segment=5, reason="r", proposal_id=uuid4(), proposal_provider="RJZ"
    )
    with pytest.raises(Rejected) as rejected:
        _decide(request, [_view("QKK", NOW)])
    assert [p["loc"] for p in rejected.value.detail()] == [["body", "segment"], ["body", "proposal_id"]]


def test_a_decision_needs_a_system_view_and_carries_the_decider_and_the_views_para_27() -> None:
    request = segmentation.DecisionRequest(
        provider="RJ1", segment=2, reason="r", proposal_id=None, proposal_provider=None
    )
    with pytest.raises(Rejected) as rejected:
        _decide(request, [])
    assert [p["type"] for p in rejected.value.detail()] == ["ics_view_missing"]
    view = _view("QKK", NOW)
    decided = _decide(request, [view])
    assert isinstance(decided, SegmentDecidedV2)
    assert decided.data.actor == REGION_USER and decided.data.ics_views == [view]


def test_a_decision_has_regard_to_each_icbs_latest_view_since_the_last_decision() -> None:
    last_decision = NOW - timedelta(days=30)
    old = _view("QKK", last_decision - timedelta(days=1), "before the last decision")
    first, latest = (
        _view("QKK", NOW - timedelta(days=5), "first"),
        _view("QKK", NOW - timedelta(days=2), "latest"),
    )
    other_icb = _view("QWE", NOW - timedelta(days=3), "south west london")
    current = segmentation.current_ics_views([latest, old, other_icb, first], since=last_decision)
    assert [v.view for v in current] == ["latest", "south west london"]
    assert [v.view for v in segmentation.current_ics_views([old], since=None)] == ["before the last decision"]


# --- support coordination and notification -----------------------------------------------


def _need(provider: str = "RRU") -> SupportNeedIdentified:
    return SupportNeedIdentified.new(
        source="segmentation",
        subject=provider,
        data=SupportNeedIdentifiedData(
            need_id=uuid4(),
            provider=provider,
            theme=Theme.OPERATIONAL_PERFORMANCE,
            trigger_ids=[uuid4()],
            trigger_codes=["operational_standard_failed"],
            reason="Category 2 mean response time above 18 minutes for two months",
            identified_at=NOW,
        ),
    )


def _proposal(need: SupportNeedIdentified, provider: Provider) -> SupportPackageProposedV2:
    plan = support.draft_plan(need, provider, load_catalogue(), segment=None, today=NOW.date())
    return support.propose_package(need, provider, plan, package_id=uuid4(), now=NOW)


def test_package_is_a_draft_for_all_the_providers_icbs_and_its_region() -> None:
    provider = REGISTRY.provider("RRU")
    proposal = _proposal(_need(), provider)
    assert proposal.data.status == "draft"
    assert proposal.data.icbs == list(provider.icbs) and len(provider.icbs) > 1
    assert proposal.data.region == "Y56"
    assert "Emergency Care Improvement Programme" in proposal.data.summary


def _receivers(proposal: SupportPackageProposedV2, provider: Provider) -> list[str]:
    reading = alert_facts.read(proposal, alert_facts.Context(provider, None, load_pack("nof-2019")))
    assert reading.alert is not None
    routes, rules = load_routing()
    addressed = issue(
        reading.alert, routes=routes, inhibitions=rules, provider_facts=(), silences=(), now=NOW
    )
    return [a.receiver for a in addressed]


def test_alert_goes_to_every_icb_and_the_region_once() -> None:
    provider = REGISTRY.provider("RRU")
    proposal = _proposal(_need(), provider)
    assert _receivers(proposal, provider) == [*provider.icbs, provider.region]
    reading = alert_facts.read(proposal, alert_facts.Context(provider, None, load_pack("nof-2019")))
    assert reading.alert is not None and provider.name in reading.alert.title


def test_alert_audiences_come_from_the_registry_not_the_event() -> None:
    """An event claiming QMJ and the South East for RJ1 still alerts only QKK and London."""
    provider = REGISTRY.provider("RJ1")
    honest = _proposal(_need("RJ1"), provider)
    forged = honest.model_copy(
        update={"data": honest.data.model_copy(update={"icbs": ["QMJ"], "region": "Y59"})}
    )
    assert _receivers(forged, provider) == ["QKK", "Y56"]
