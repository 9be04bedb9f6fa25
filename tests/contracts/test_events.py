"""Every event round-trips through its committed JSON Schema, and the artefacts are current."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

import jsonschema
import pytest
from pydantic import ValidationError

from oversight_contracts import (
    ALL_EVENTS,
    EVENTS_BY_TYPE,
    SUPERSEDED,
    Actor,
    AlertAcknowledged,
    AlertChangeData,
    AlertIssued,
    AlertIssuedData,
    AlertResolved,
    AlertSeverity,
    AlertSnoozed,
    AlertSnoozedData,
    Envelope,
    ExceptionReportCategory,
    ExceptionReportReceived,
    ExceptionReportReceivedData,
    ExceptionReportReceivedV2,
    ExceptionReportReceivedV2Data,
    IcsViewRecorded,
    IcsViewRecordedData,
    IcsViewTaken,
    MaterialConcernRaised,
    MaterialConcernRaisedData,
    MaterialConcernRaisedV2,
    MaterialConcernRaisedV2Data,
    MetricEvaluated,
    MetricEvaluatedData,
    MetricScoresCalculated,
    MetricScoresCalculatedData,
    ObservationValue,
    ProviderFactsRecorded,
    ProviderFactsRecordedData,
    ProviderFactsRecordedV2,
    ProviderFactsRecordedV2Data,
    SegmentDecided,
    SegmentDecidedData,
    SegmentDecidedV2,
    SegmentDecidedV2Data,
    SegmentProposed,
    SegmentProposedData,
    SubmissionReceived,
    SubmissionReceivedData,
    SubmissionReceivedV2,
    SubmissionReceivedV2Data,
    SupportNeedIdentified,
    SupportNeedIdentifiedData,
    SupportNeedResolved,
    SupportNeedResolvedData,
    SupportPackageProposed,
    SupportPackageProposedData,
    Theme,
    TriggerCleared,
    TriggerClearedData,
    TriggerRaised,
    TriggerRaisedData,
    TriggerRaisedV2,
    TriggerReviewDue,
    TriggerReviewDueData,
)
from oversight_contracts.frameworks import Rating
from oversight_contracts.scenario import CqcRatings, PathwayStep
from oversight_runtime.devtools import (
    changed_released_versions,
    generated_artefacts,
    read_released,
    schema_fingerprint,
    wire_shape,
)
from tests.unit.test_support_events import support_package_examples

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
NOW = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)


def _examples() -> list[Envelope]:  # type: ignore[type-arg]
    report = ExceptionReportReceived.new(
        source="ingest",
        subject="RJ1",
        data=ExceptionReportReceivedData(
            report_id=uuid4(),
            provider="RJ1",
            category=ExceptionReportCategory.QUALIFIED_AUDIT_RISK,
            summary="Auditors signal a qualified opinion.",
            occurred_on=date(2026, 10, 1),
            reported_by="CFO",
        ),
    )
    trigger = TriggerRaised.new(
        source="metrics",
        subject="RJ1",
        cause=report,
        data=TriggerRaisedData(
            trigger_id=uuid4(),
            provider="RJ1",
            code="exception_report",
            theme=Theme.FINANCE_AND_USE_OF_RESOURCES,
            evidence="exception report",
            source=f"exception_report:{report.data.report_id}",
            framework_paragraph="para 21",
            raised_at=NOW,
        ),
    )
    need = SupportNeedIdentified.new(
        source="segmentation",
        subject="RJ1",
        cause=trigger,
        data=SupportNeedIdentifiedData(
            need_id=uuid4(),
            provider="RJ1",
            theme=Theme.FINANCE_AND_USE_OF_RESOURCES,
            trigger_ids=[trigger.data.trigger_id],
            trigger_codes=["exception_report"],
            reason="trigger",
            identified_at=NOW,
        ),
    )
    package = SupportPackageProposed.new(
        source="support-coordination",
        subject="RJ1",
        cause=need,
        data=SupportPackageProposedData(
            package_id=uuid4(),
            need_id=need.data.need_id,
            provider="RJ1",
            provider_name="Guy's and St Thomas' NHS Foundation Trust",
            theme=Theme.FINANCE_AND_USE_OF_RESOURCES,
            status="draft",
            icbs=["QKK"],
            region="Y56",
            summary="draft",
            proposed_at=NOW,
        ),
    )
    submission = SubmissionReceived.new(
        source="ingest",
        subject="RJ1",
        data=SubmissionReceivedData(
            submission_id=uuid4(),
            provider="RJ1",
            period="2026-09",
            observations=[ObservationValue(metric="op_ae_4hr_pct", value=72.5)],
            submitted_by="BI team",
        ),
    )
    evaluated = MetricEvaluated.new(
        source="metrics",
        subject="RJ1",
        cause=submission,
        data=MetricEvaluatedData(
            submission_id=submission.data.submission_id,
            provider="RJ1",
            metric="op_ae_4hr_pct",
            period="2026-09",
            value=72.5,
        ),
    )
    facts = ProviderFactsRecorded.new(
        source="ingest",
        subject="RJ1",
        data=ProviderFactsRecordedData(
            facts_id=uuid4(),
            provider="RJ1",
            cqc=CqcRatings(overall=Rating.REQUIRES_IMPROVEMENT, well_led=Rating.GOOD),
            licence="suspected_breach",
            recorded_by="London region",
            recorded_on=date(2026, 10, 1),
        ),
    )
    concern = MaterialConcernRaised.new(
        source="ingest",
        subject="RJ1",
        data=MaterialConcernRaisedData(
            concern_id=uuid4(),
            provider="RJ1",
            theme=Theme.QUALITY_OF_CARE,
            summary="Prevention of future deaths report",
            intelligence_source="coroner",
            raised_on=date(2026, 10, 2),
            raised_by="QKK quality team",
        ),
    )
    cleared = TriggerCleared.new(
        source="metrics",
        subject="RJ1",
        cause=submission,
        data=TriggerClearedData(
            trigger_id=trigger.data.trigger_id,
            provider="RJ1",
            code=trigger.data.code,
            theme=trigger.data.theme,
            key="exception_report:qualified_audit_risk",
            reason="two clear months",
            cleared_at=NOW,
        ),
    )
    resolved = SupportNeedResolved.new(
        source="segmentation",
        subject="RJ1",
        cause=cleared,
        data=SupportNeedResolvedData(
            need_id=need.data.need_id,
            provider="RJ1",
            theme=need.data.theme,
            reason="cleared",
            resolved_at=NOW,
        ),
    )
    proposed = SegmentProposed.new(
        source="segmentation",
        subject="RJ1",
        cause=trigger,
        data=SegmentProposedData(
            proposal_id=uuid4(),
            provider="RJ1",
            framework="nof-2019",
            proposed_segment=2,
            segment_name="Targeted support",
            current_segment=1,
            decision_timing="next_quarterly_review",
            review_date=date(2027, 1, 1),
            support_needs={t: t is Theme.FINANCE_AND_USE_OF_RESOURCES for t in Theme},
            trigger_keys=["exception_report:qualified_audit_risk"],
            rationale=["Table 2 segment 2"],
            pathway=[PathwayStep(action="clear it", clears=["x"], segment_after=1, source="Table 2")],
            proposed_at=NOW,
        ),
    )
    decided = SegmentDecided.new(
        source="segmentation",
        subject="RJ1",
        data=SegmentDecidedData(
            decision_id=uuid4(),
            proposal_id=proposed.data.proposal_id,
            provider="RJ1",
            segment=2,
            previous_segment=1,
            decided_by="London region",
            ics_view="The ICB agrees",
            reason="Audit risk needs targeted support",
            decided_at=NOW,
        ),
    )
    scores = MetricScoresCalculated.new(
        source="metrics",
        subject="RJ1",
        cause=submission,
        data=MetricScoresCalculatedData(
            provider="RJ1",
            framework="nof-2025",
            metric_scores={"op_ae_4hr_pct": 3.1, "fin_ie_margin_pct": 2.0},
            mean_score=2.55,
            in_financial_deficit=False,
            calculated_at=NOW,
        ),
    )
    review = TriggerReviewDue.new(
        source="metrics",
        subject="RJ1",
        data=TriggerReviewDueData(provider="RJ1", review_date=date(2026, 10, 5), reason="a month has turned"),
    )
    return [
        report,
        submission,
        facts,
        concern,
        evaluated,
        trigger,
        cleared,
        review,
        scores,
        need,
        resolved,
        proposed,
        decided,
        package,
        *_signed_in_examples(proposed),
        *_bounded_examples([trigger, cleared, review, scores, need, resolved, proposed, package]),
        *support_package_examples(),
        *_alert_examples(proposed),
    ]


def _alert_examples(cause: SegmentProposed) -> list[Envelope]:  # type: ignore[type-arg]
    """One of each alert event: issued, acknowledged by an ICS user, snoozed, resolved by its cause."""
    alert = {
        "alert_id": uuid4(),
        "alert_type": "segment.proposed",
        "severity": AlertSeverity.HIGH,
        "provider": "RJ1",
        "theme": None,
        "audiences": ["QKK", "Y56"],
    }
    now = datetime.now(UTC)
    actor = Actor(user_id="qkk.member", name="Ben Clarke", organisation="QKK", role="ics_member")
    issued = AlertIssued.new(
        source="notification",
        subject="RJ1",
        cause=cause,
        data=AlertIssuedData(
            **alert,
            provider_name="Guy's and St Thomas' NHS Foundation Trust",
            title="Guy's and St Thomas' (RJ1): segment 2 proposed",
            body="Two months below the A&E standard",
            status="active",
            source_event_id=cause.id,
            source_event_type=cause.type,
            occurred_at=cause.time,
            issued_at=now,
        ),
    )
    change = {**alert, "actor": actor, "reason": "Called the trust", "at": now}
    return [
        issued,
        AlertAcknowledged.new(
            source="notification", subject="RJ1", cause=issued, data=AlertChangeData(**change)
        ),
        AlertSnoozed.new(
            source="notification",
            subject="RJ1",
            cause=issued,
            data=AlertSnoozedData(**change, until=now + timedelta(hours=4)),
        ),
        AlertResolved.new(
            source="notification",
            subject="RJ1",
            cause=issued,
            data=AlertChangeData(**change | {"actor": None, "reason": "its cause cleared"}),
        ),
    ]


def _bounded_examples(released: list[Envelope]) -> list[Envelope]:  # type: ignore[type-arg]
    """The bounded v2 of each: the same fields, each with a limit."""
    by_type = {e.event_type(): e for e in ALL_EVENTS}
    bounded = []
    for event in released:
        newer = by_type[event.type.replace(".v1", ".v2")]
        bounded.append(newer.model_validate({**event.model_dump(mode="json"), "type": newer.event_type()}))
    return bounded


TRUST_USER = Actor(user_id="rj1.submitter", name="Asha Patel", organisation="RJ1", role="trust_submitter")
REGION_USER = Actor(user_id="y56.member", name="Raj Mehta", organisation="Y56", role="regional_member")
ICS_LEAD = Actor(user_id="qkk.lead", name="Grace Adeyemi", organisation="QKK", role="ics_lead")


def _signed_in_examples(proposed: SegmentProposed) -> list[Envelope]:  # type: ignore[type-arg]
    """The versions that name the signed-in user who acted."""
    view = IcsViewRecorded.new(
        source="segmentation",
        subject="RJ1",
        data=IcsViewRecordedData(
            view_id=uuid4(),
            provider="RJ1",
            icb="QKK",
            proposal_id=proposed.data.proposal_id,
            recommended_segment=2,
            view="The system agrees with targeted support.",
            actor=ICS_LEAD,
            recorded_at=NOW,
        ),
    )
    return [
        ExceptionReportReceivedV2.new(
            source="ingest",
            subject="RJ1",
            data=ExceptionReportReceivedV2Data(
                report_id=uuid4(),
                provider="RJ1",
                category=ExceptionReportCategory.QUALIFIED_AUDIT_RISK,
                summary="Auditors signal a qualified opinion.",
                occurred_on=date(2026, 10, 1),
                actor=TRUST_USER,
            ),
        ),
        SubmissionReceivedV2.new(
            source="ingest",
            subject="RJ1",
            data=SubmissionReceivedV2Data(
                submission_id=uuid4(),
                provider="RJ1",
                period="2026-09",
                observations=[ObservationValue(metric="op_ae_4hr_pct", value=72.5)],
                actor=TRUST_USER,
            ),
        ),
        ProviderFactsRecordedV2.new(
            source="ingest",
            subject="RJ1",
            data=ProviderFactsRecordedV2Data(
                facts_id=uuid4(),
                provider="RJ1",
                licence="suspected_breach",
                recorded_on=date(2026, 10, 1),
                actor=REGION_USER,
            ),
        ),
        MaterialConcernRaisedV2.new(
            source="ingest",
            subject="RJ1",
            data=MaterialConcernRaisedV2Data(
                concern_id=uuid4(),
                provider="RJ1",
                theme=Theme.QUALITY_OF_CARE,
                summary="Prevention of future deaths report",
                intelligence_source="coroner",
                raised_on=date(2026, 10, 2),
                actor=REGION_USER,
            ),
        ),
        view,
        SegmentDecidedV2.new(
            source="segmentation",
            subject="RJ1",
            data=SegmentDecidedV2Data(
                decision_id=uuid4(),
                proposal_id=proposed.data.proposal_id,
                provider="RJ1",
                segment=2,
                previous_segment=1,
                reason="Audit risk needs targeted support",
                actor=Actor(
                    user_id="y56.decider", name="Helen Wright", organisation="Y56", role="regional_decider"
                ),
                ics_views=[IcsViewTaken(**view.data.model_dump(exclude={"provider"}))],
                decided_at=NOW,
            ),
        ),
    ]


def test_every_event_type_has_an_example() -> None:
    assert {type(e) for e in _examples()} == set(ALL_EVENTS)


@pytest.mark.parametrize("event", _examples(), ids=lambda e: e.type)
def test_event_round_trips_through_its_json_schema(event: Envelope) -> None:  # type: ignore[type-arg]
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text())
    wire = json.loads(event.model_dump_json())
    jsonschema.validate(wire, schema)
    assert type(event).model_validate_json(event.model_dump_json()) == event
    assert EVENTS_BY_TYPE[event.type] is type(event)


@pytest.mark.parametrize("event", _examples(), ids=lambda e: e.type)
def test_schema_rejects_what_the_model_rejects(event: Envelope) -> None:  # type: ignore[type-arg]
    schema = json.loads((SCHEMAS / f"{event.type}.json").read_text())
    wire = json.loads(event.model_dump_json())
    wire["subject"] = "not an ods code"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wire, schema)
    with pytest.raises(ValidationError):
        type(event).model_validate(wire)


def test_a_type_of_another_version_is_refused() -> None:
    report = _examples()[0]
    wire = json.loads(report.model_dump_json())
    wire["type"] = "exception_report.received.v2"
    with pytest.raises(ValidationError):
        ExceptionReportReceived.model_validate(wire)


def test_effects_inherit_correlation_and_name_their_cause() -> None:
    examples = _examples()
    report, trigger, need, package = examples[0], examples[5], examples[9], examples[13]
    assert report.causation_id is None
    assert trigger.causation_id == report.id and need.causation_id == trigger.id
    assert package.causation_id == need.id
    assert len({e.correlation_id for e in (report, trigger, need, package)}) == 1


def test_topics_are_one_per_type_and_version() -> None:
    topics = [e.topic() for e in ALL_EVENTS]
    assert len(set(topics)) == len(topics)
    assert all(re.fullmatch(r"oversight\.[a-z_]+\.[a-z_]+\.v[1-9][0-9]*", t) for t in topics), topics
    assert ExceptionReportReceived.dead_letter_topic() == "oversight.exception_report.received.v1.dlq"


def test_committed_artefacts_are_current() -> None:
    """JSON Schemas and AsyncAPI documents must be regenerated (`make artefacts`) with any change."""
    stale = [str(p) for p, text in generated_artefacts().items() if not p.exists() or p.read_text() != text]
    assert stale == []


def test_every_event_type_is_recorded_as_released() -> None:
    """``make artefacts`` records a new type's schema fingerprint in contracts/released.json."""
    assert set(read_released()) == {e.event_type() for e in ALL_EVENTS}


def test_released_versions_are_unchanged() -> None:
    """A released type's schema stays as released; a change needs a new version (events.py)."""
    assert changed_released_versions() == []


def test_fingerprint_sees_what_a_consumer_sees() -> None:
    """Prose and class names do not change a fingerprint; a field added to the wire does."""

    class RenamedData(TriggerClearedData):
        """Different words, the same wire shape."""

    class Renamed(Envelope[RenamedData]):
        type: Literal["trigger.cleared.v1"] = "trigger.cleared.v1"

    class WiderData(TriggerClearedData):
        note: str | None = None

    class Wider(Envelope[WiderData]):
        type: Literal["trigger.cleared.v1"] = "trigger.cleared.v1"

    assert schema_fingerprint(Renamed) == schema_fingerprint(TriggerCleared)
    assert schema_fingerprint(Wider) != schema_fingerprint(TriggerCleared)


def test_asyncapi_documents_name_every_channel() -> None:
    asyncapi = Path(__file__).resolve().parents[2] / "contracts" / "asyncapi"
    channels = set()
    for path in asyncapi.glob("*.json"):
        channels |= {c["address"] for c in json.loads(path.read_text())["channels"].values()}
    assert {e.topic() for e in ALL_EVENTS if e not in SUPERSEDED} <= channels


def test_no_service_publishes_a_superseded_version() -> None:
    asyncapi = Path(__file__).resolve().parents[2] / "contracts" / "asyncapi"
    published = set()
    for path in asyncapi.glob("*.json"):
        published |= {
            c.split(":")[0] for c in json.loads(path.read_text())["channels"] if c.endswith(":publish")
        }
    assert published.isdisjoint({e.topic() for e in SUPERSEDED})


def _unbounded(node: Any, path: str = "") -> list[str]:
    """Every string, list or map in a wire schema that has no limit on its size."""
    found: list[str] = []
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "string" and not (
            "maxLength" in node
            or "enum" in node
            or "const" in node
            or node.get("format") in {"uuid", "date", "date-time"}
            or ("pattern" in node and not re.search(r"[*+]", node["pattern"]))
        ):
            found.append(path or "(root)")
        if kind == "array" and "maxItems" not in node:
            found.append(path)
        open_keys = node.get("additionalProperties") not in (None, False) or "patternProperties" in node
        if kind == "object" and open_keys:
            names = node.get("propertyNames", {})
            if "maxProperties" not in node and "enum" not in names:
                found.append(path)
        for key, value in node.items():
            found += _unbounded(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _unbounded(value, f"{path}[{index}]")
    return found


@pytest.mark.parametrize(
    "event", [e for e in ALL_EVENTS if e not in SUPERSEDED], ids=lambda e: e.event_type()
)
def test_every_current_event_has_a_limit_on_every_string_and_list(event: type[Envelope]) -> None:  # type: ignore[type-arg]
    """An event of the platform stays far under the broker's 1 MiB limit, so an unbounded field,
    which once let one event wedge a relay, cannot be released again (superseded versions were
    released before the rule)."""
    shape = wire_shape(event.model_json_schema())
    assert _unbounded(shape["properties"]["data"]) == []


def test_a_trigger_with_a_million_characters_of_evidence_is_refused_by_its_contract() -> None:
    examples = {type(e): e for e in _examples()}
    trigger = examples[TriggerRaisedV2].model_dump(mode="json")
    trigger["data"]["evidence"] = "x" * 1_000_000
    with pytest.raises(ValidationError, match="at most 5000 characters"):
        TriggerRaisedV2.model_validate(trigger)
