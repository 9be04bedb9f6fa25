"""Each service's pure domain rules, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from oversight_contracts import (
    ExceptionReportCategory,
    ExceptionReportReceived,
    ExceptionReportReceivedData,
    ObservationValue,
    SubmissionReceived,
    SubmissionReceivedData,
    SupportNeedIdentified,
    SupportNeedIdentifiedData,
    Theme,
    TriggerRaised,
)
from oversight_contracts.frameworks import UnknownFramework, load_pack
from oversight_ingest import domain as ingest
from oversight_ingest.models import ExceptionReportCreate, SubmissionCreate
from oversight_metrics import domain as metrics
from oversight_notification import domain as notification
from oversight_runtime.errors import Rejected
from oversight_runtime.reference import load_registry
from oversight_segmentation import domain as segmentation
from oversight_support_coordination import domain as support

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
REGISTRY = load_registry()
PACK = load_pack("nof-2019")


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
            reported_by="y",
        ),
        registry=REGISTRY,
        report_id=uuid4(),
        today=date(2026, 10, 5),
        correlation_id=correlation,
    )
    assert event.subject == "RJ1" and event.correlation_id == correlation and event.source == "ingest"


def test_ingest_rejects_unknown_provider_naming_the_field() -> None:
    with pytest.raises(Rejected) as rejected:
        ingest.accept_submission(
            SubmissionCreate(
                provider="ZZZ99",
                period="2026-09",
                observations=[{"metric": "q_hsmr", "value": 1}],
                submitted_by="x",
            ),
            registry=REGISTRY,
            submission_id=uuid4(),
            today=date(2026, 10, 5),
            correlation_id=uuid4(),
        )
    assert rejected.value.detail()[0]["loc"] == ["body", "provider"]
    assert "ZZZ99" in str(rejected.value.detail()[0]["msg"])


def test_ingest_reports_every_problem_of_a_submission_at_once() -> None:
    with pytest.raises(Rejected) as rejected:
        ingest.accept_submission(
            SubmissionCreate(
                provider="RJ1",
                period="2026-11",
                observations=[{"metric": "q_hsmr", "value": 1}, {"metric": "q_hsmr", "value": 2}],
                submitted_by="x",
            ),
            registry=REGISTRY,
            submission_id=uuid4(),
            today=date(2026, 10, 5),
            correlation_id=uuid4(),
        )
    assert [p["type"] for p in rejected.value.detail()] == ["period_in_future", "duplicate_metric"]


# --- metrics --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(ExceptionReportCategory))
def test_every_exception_category_maps_to_a_theme_with_its_source(category: ExceptionReportCategory) -> None:
    trigger = metrics.trigger_for_exception_report(_report(category), PACK, trigger_id=uuid4(), now=NOW)
    assert trigger.data.code == "exception_report"
    assert trigger.data.theme == PACK.exception_reports[category].theme
    assert trigger.data.framework_paragraph.startswith(("para", "Figure"))


def test_exception_report_maps_as_the_framework_says() -> None:
    # para 21: auditor discussions -> finance; Figure 2: CQC warning notices -> quality of care
    audit = metrics.trigger_for_exception_report(_report(), PACK, trigger_id=uuid4(), now=NOW)
    cqc = metrics.trigger_for_exception_report(
        _report(ExceptionReportCategory.CQC_WARNING_NOTICE), PACK, trigger_id=uuid4(), now=NOW
    )
    assert audit.data.theme is Theme.FINANCE_AND_USE_OF_RESOURCES
    assert cqc.data.theme is Theme.QUALITY_OF_CARE


def test_unknown_framework_is_named() -> None:
    with pytest.raises(UnknownFramework, match="nof-1999"):
        load_pack("nof-1999")


def test_submission_gives_one_evaluation_per_value_marking_revisions() -> None:
    submission = SubmissionReceived.new(
        source="ingest",
        subject="RJ1",
        data=SubmissionReceivedData(
            submission_id=uuid4(),
            provider="RJ1",
            period="2026-09",
            observations=[
                ObservationValue(metric="op_ae_4hr_pct", value=71.0),
                ObservationValue(metric="q_hsmr", value=102),
            ],
            submitted_by="BI",
        ),
    )
    evaluations = metrics.evaluations_for_submission(submission, {"q_hsmr"})
    assert [(e.data.metric, e.data.revised) for e in evaluations] == [
        ("op_ae_4hr_pct", False),
        ("q_hsmr", True),
    ]
    assert all(e.causation_id == submission.id for e in evaluations)


# --- segmentation ---------------------------------------------------------------------------


def _trigger() -> TriggerRaised:
    return metrics.trigger_for_exception_report(_report(), PACK, trigger_id=uuid4(), now=NOW)


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


def test_package_is_a_draft_for_all_the_providers_icbs_and_its_region() -> None:
    provider = REGISTRY.provider("RRU")
    proposal = support.propose_package(_need(), provider, package_id=uuid4(), now=NOW)
    assert proposal.data.status == "draft"
    assert proposal.data.icbs == list(provider.icbs) and len(provider.icbs) > 1
    assert proposal.data.region == "Y56"
    assert "Emergency Care Improvement Programme" in proposal.data.summary


def test_alert_goes_to_every_icb_and_the_region_once() -> None:
    provider = REGISTRY.provider("RRU")
    proposal = support.propose_package(_need(), provider, package_id=uuid4(), now=NOW)
    draft = notification.route_package_proposal(proposal)
    assert draft.audiences == (*provider.icbs, provider.region)
    assert provider.name in draft.title
