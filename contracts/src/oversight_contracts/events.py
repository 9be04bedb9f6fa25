"""Every event the services exchange, as versioned payload models.

Payloads forbid unknown fields, so once a version has landed any change to its schema, even an
added optional field, would make an existing consumer refuse the event. Such a change gets a new
``.vN`` type with its own topic, and the old class stays here as released: consumers learn to
read the new version first, then the producer switches. ``contracts/released.json`` holds the
fingerprint of every released schema and a contract test keeps each one unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oversight_contracts.codes import (
    ExceptionReportCategory,
    MetricId,
    OdsCode,
    Period,
    Theme,
)
from oversight_contracts.envelope import Envelope
from oversight_contracts.scenario import PathwayStep, RecordedFacts


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(Payload):
    """Who took a human act, read from their verified access token, never from a request body."""

    user_id: str = Field(min_length=1, max_length=200, description="The token's user id (subject).")
    name: str = Field(min_length=1, max_length=200, description="Display name, as the token gives it.")
    organisation: OdsCode = Field(description="ODS code of the user's trust, ICB, region or NHS England.")
    role: str = Field(min_length=1, max_length=40, description="The platform role the act was taken under.")


# --- ingest -----------------------------------------------------------------------------------


class ExceptionReportReceivedData(Payload):
    report_id: UUID
    provider: OdsCode
    category: ExceptionReportCategory
    summary: str = Field(min_length=1, max_length=4000)
    occurred_on: date
    reported_by: str = Field(min_length=1, max_length=200)


class ExceptionReportReceived(Envelope[ExceptionReportReceivedData]):
    """A trust reported a material event by exception (para 21, Figure 2)."""

    type: Literal["exception_report.received.v1"] = "exception_report.received.v1"


class ObservationValue(Payload):
    metric: MetricId
    value: float = Field(allow_inf_nan=False)


class SubmissionReceivedData(Payload):
    submission_id: UUID
    provider: OdsCode
    period: Period
    observations: list[ObservationValue] = Field(min_length=1)
    submitted_by: str = Field(min_length=1, max_length=200)


class SubmissionReceived(Envelope[SubmissionReceivedData]):
    """A trust's return: a batch of metric values for one provider and period (para 18)."""

    type: Literal["submission.received.v1"] = "submission.received.v1"


class ProviderFactsRecordedData(Payload, RecordedFacts):
    """Facts about a provider beyond its metrics; a field left out keeps its previous value."""

    facts_id: UUID
    provider: OdsCode
    recorded_by: str = Field(min_length=1, max_length=200)
    recorded_on: date


class ProviderFactsRecorded(Envelope[ProviderFactsRecordedData]):
    """CQC and Use of Resources ratings, licence, special measures and other facts (paras 37-46)."""

    type: Literal["provider_facts.recorded.v1"] = "provider_facts.recorded.v1"


class MaterialConcernRaisedData(Payload):
    concern_id: UUID
    provider: OdsCode
    theme: Theme
    summary: str = Field(min_length=1, max_length=4000)
    #: Where the intelligence came from: whistleblower, coroner, Healthwatch, MP, regulator...
    intelligence_source: str = Field(min_length=1, max_length=200)
    raised_on: date
    raised_by: str = Field(min_length=1, max_length=200, description="The ICS or regional user.")


class MaterialConcernRaised(Envelope[MaterialConcernRaisedData]):
    """Intelligence entered by an ICS or regional user (paras 37, 46, 48, 56)."""

    type: Literal["material_concern.raised.v1"] = "material_concern.raised.v1"


class ExceptionReportReceivedV2Data(Payload):
    report_id: UUID
    provider: OdsCode
    category: ExceptionReportCategory
    summary: str = Field(min_length=1, max_length=4000)
    occurred_on: date
    actor: Actor


class ExceptionReportReceivedV2(Envelope[ExceptionReportReceivedV2Data]):
    """A trust reported a material event by exception (para 21, Figure 2); v2 names the signed-in
    user who reported it instead of v1's free-text ``reported_by``."""

    type: Literal["exception_report.received.v2"] = "exception_report.received.v2"


class SubmissionReceivedV2Data(Payload):
    submission_id: UUID
    provider: OdsCode
    period: Period
    observations: list[ObservationValue] = Field(min_length=1, max_length=500)
    actor: Actor


class SubmissionReceivedV2(Envelope[SubmissionReceivedV2Data]):
    """A trust's return (para 18); v2 names the signed-in user who sent it."""

    type: Literal["submission.received.v2"] = "submission.received.v2"


class ProviderFactsRecordedV2Data(Payload, RecordedFacts):
    """Facts about a provider beyond its metrics; a field left out keeps its previous value."""

    facts_id: UUID
    provider: OdsCode
    recorded_on: date
    actor: Actor


class ProviderFactsRecordedV2(Envelope[ProviderFactsRecordedV2Data]):
    """CQC and Use of Resources ratings, licence, special measures and other facts (paras 37-46);
    v2 names the signed-in ICS or regional user who recorded them."""

    type: Literal["provider_facts.recorded.v2"] = "provider_facts.recorded.v2"


class MaterialConcernRaisedV2Data(Payload):
    concern_id: UUID
    provider: OdsCode
    theme: Theme
    summary: str = Field(min_length=1, max_length=4000)
    intelligence_source: str = Field(min_length=1, max_length=200)
    raised_on: date
    actor: Actor


class MaterialConcernRaisedV2(Envelope[MaterialConcernRaisedV2Data]):
    """Intelligence entered by an ICS or regional user (paras 37, 46, 48, 56); v2 names the user."""

    type: Literal["material_concern.raised.v2"] = "material_concern.raised.v2"


#: Either version of each ingest event: consumers read both while v1 events remain on the topics.
AnyExceptionReportReceived = ExceptionReportReceived | ExceptionReportReceivedV2
AnySubmissionReceived = SubmissionReceived | SubmissionReceivedV2
AnyProviderFactsRecorded = ProviderFactsRecorded | ProviderFactsRecordedV2
AnyMaterialConcernRaised = MaterialConcernRaised | MaterialConcernRaisedV2


# --- metrics ----------------------------------------------------------------------------------


class MetricEvaluatedData(Payload):
    submission_id: UUID
    provider: OdsCode
    metric: MetricId
    period: Period
    value: float = Field(allow_inf_nan=False)
    #: True when this value replaced an earlier one for the same metric and period (a resubmission).
    revised: bool = False
    #: Met the metric's standard; None where the metric has no standard.
    standard_met: bool | None = None
    #: Making Data Count reading of this point; None until the series has enough points.
    variation: Literal["common_cause", "special_cause_concern", "special_cause_improvement"] | None = None
    assurance: Literal["consistently_passing", "consistently_failing", "hit_and_miss"] | None = None


class MetricEvaluated(Envelope[MetricEvaluatedData]):
    """One observation stored and evaluated by the metrics service."""

    type: Literal["metric.evaluated.v1"] = "metric.evaluated.v1"


class TriggerRaisedData(Payload):
    trigger_id: UUID
    provider: OdsCode
    code: str = Field(min_length=1, max_length=64, description="Trigger code from the framework pack.")
    theme: Theme
    metric: MetricId | None = None
    evidence: str = Field(min_length=1)
    source: str = Field(min_length=1, description="What raised it, e.g. exception_report:<id>.")
    framework_paragraph: str = Field(min_length=1, description="The framework paragraph behind it.")
    raised_at: datetime
    #: Stable identity of the condition (e.g. ``operational_standard_failed:op_ae_4hr_pct``).
    key: str | None = None
    #: Justifies a segment change before the quarterly review (para 31).
    cause_for_concern: bool = False


class TriggerRaised(Envelope[TriggerRaisedData]):
    """A trigger of concern was hit for a provider under one theme (paras 36-61)."""

    type: Literal["trigger.raised.v1"] = "trigger.raised.v1"


class TriggerClearedData(Payload):
    trigger_id: UUID
    provider: OdsCode
    code: str
    theme: Theme
    metric: MetricId | None = None
    key: str
    reason: str = Field(min_length=1)
    cleared_at: datetime


class TriggerCleared(Envelope[TriggerClearedData]):
    """A trigger's condition no longer holds (two clear periods, or the fact changed)."""

    type: Literal["trigger.cleared.v1"] = "trigger.cleared.v1"


class TriggerReviewDueData(Payload):
    provider: OdsCode
    review_date: date
    reason: str = Field(min_length=1)


class TriggerReviewDue(Envelope[TriggerReviewDueData]):
    """Time has passed for a provider with open triggers: re-read them (metrics to itself).

    Triggers that clear after months without a new report or concern (paras 21, 37) clear by the
    calendar, not by an arriving event. Going through the provider's own partition keeps the
    re-reading in order with its other events.
    """

    type: Literal["trigger_review.due.v1"] = "trigger_review.due.v1"


class MetricScoresCalculatedData(Payload):
    provider: OdsCode
    framework: str
    metric_scores: dict[MetricId, float] = Field(
        description="Each scored metric's latest month, 1.00 best to 4.00 worst."
    )
    mean_score: float | None = Field(default=None, ge=1, le=4, description="None until a metric is scored.")
    in_financial_deficit: bool
    calculated_at: datetime


class MetricScoresCalculated(Envelope[MetricScoresCalculatedData]):
    """A provider's metric scores changed under a scored framework (NOF 2025/26); they set its segment."""

    type: Literal["metric_scores.calculated.v1"] = "metric_scores.calculated.v1"


# --- segmentation -----------------------------------------------------------------------------


class SupportNeedIdentifiedData(Payload):
    need_id: UUID
    provider: OdsCode
    theme: Theme
    trigger_ids: list[UUID] = Field(min_length=1)
    trigger_codes: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)
    identified_at: datetime


class SupportNeedIdentified(Envelope[SupportNeedIdentifiedData]):
    """A potential support need for a provider under one theme (para 24)."""

    type: Literal["support_need.identified.v1"] = "support_need.identified.v1"


class SupportNeedResolvedData(Payload):
    need_id: UUID
    provider: OdsCode
    theme: Theme
    reason: str = Field(min_length=1)
    resolved_at: datetime


class SupportNeedResolved(Envelope[SupportNeedResolvedData]):
    """Every trigger behind a support need has cleared."""

    type: Literal["support_need.resolved.v1"] = "support_need.resolved.v1"


class SegmentProposedData(Payload):
    proposal_id: UUID
    provider: OdsCode
    framework: str
    proposed_segment: int = Field(ge=1, le=5)
    segment_name: str
    current_segment: int | None = Field(default=None, ge=1, le=5)
    decision_timing: Literal["immediate", "next_quarterly_review"]
    review_date: date | None = None
    support_needs: dict[Theme, bool]
    trigger_keys: list[str]
    rationale: list[str] = Field(min_length=1)
    pathway: list[PathwayStep]
    proposed_at: datetime


class SegmentProposed(Envelope[SegmentProposedData]):
    """The rules' segment proposal (Table 2, para 31): a prompt for the regional team, not a decision."""

    type: Literal["segment.proposed.v1"] = "segment.proposed.v1"


class SegmentDecidedData(Payload):
    decision_id: UUID
    proposal_id: UUID | None = None
    provider: OdsCode
    segment: int = Field(ge=1, le=5)
    previous_segment: int | None = Field(default=None, ge=1, le=5)
    decided_by: str = Field(min_length=1, max_length=200)
    ics_view: str = Field(min_length=1, max_length=4000, description="The system leaders' view (para 27).")
    reason: str = Field(min_length=1, max_length=4000)
    decided_at: datetime


class SegmentDecided(Envelope[SegmentDecidedData]):
    """The regional team's segmentation decision (para 27)."""

    type: Literal["segment.decided.v1"] = "segment.decided.v1"


class IcsViewRecordedData(Payload):
    view_id: UUID
    provider: OdsCode
    icb: OdsCode = Field(description="The ICB whose view this is (a trust may belong to several).")
    proposal_id: UUID | None = Field(default=None, description="The segment proposal it answers, if any.")
    recommended_segment: int | None = Field(default=None, ge=1, le=5)
    view: str = Field(min_length=1, max_length=4000)
    actor: Actor
    recorded_at: datetime


class IcsViewRecorded(Envelope[IcsViewRecordedData]):
    """An ICS lead gave the system leaders' view on a provider's segmentation (para 27)."""

    type: Literal["ics_view.recorded.v1"] = "ics_view.recorded.v1"


class IcsViewTaken(Payload):
    """An ICS view a decision had regard to, as it stood when the decision was taken."""

    view_id: UUID
    icb: OdsCode
    proposal_id: UUID | None = None
    recommended_segment: int | None = Field(default=None, ge=1, le=5)
    view: str = Field(min_length=1, max_length=4000)
    actor: Actor
    recorded_at: datetime


class SegmentDecidedV2Data(Payload):
    decision_id: UUID
    proposal_id: UUID | None = None
    provider: OdsCode
    segment: int = Field(ge=1, le=5)
    previous_segment: int | None = Field(default=None, ge=1, le=5)
    reason: str = Field(min_length=1, max_length=4000)
    actor: Actor
    ics_views: list[IcsViewTaken] = Field(min_length=1, max_length=10)
    decided_at: datetime


class SegmentDecidedV2(Envelope[SegmentDecidedV2Data]):
    """The regional team's segmentation decision (para 27); v2 names the signed-in regional
    decider and carries each ICS lead's recorded view instead of free text."""

    type: Literal["segment.decided.v2"] = "segment.decided.v2"


# --- support coordination ---------------------------------------------------------------------


class SupportPackageProposedData(Payload):
    package_id: UUID
    need_id: UUID
    provider: OdsCode
    provider_name: str
    theme: Theme
    status: str = Field(description="Lifecycle status; a proposal starts as 'draft'.")
    icbs: list[OdsCode] = Field(min_length=1, description="ICBs that co-own the package with the region.")
    region: OdsCode
    summary: str = Field(min_length=1)
    proposed_at: datetime


class SupportPackageProposed(Envelope[SupportPackageProposedData]):
    """A draft support package was opened for a support need (paras 32-35)."""

    type: Literal["support_package.proposed.v1"] = "support_package.proposed.v1"


# --- bounded versions (issue: an unbounded field let one event grow past the broker's limit) ---
#
# Every string and list below has a limit, so an event built from them stays well under Kafka's
# 1 MiB message size and a consumer refuses (parks) an event that is larger than any producer of
# the platform would make. The v1 classes above stay as released.

#: Free text the rules write (evidence, a rationale line, a reason): room for a 4,000-character
#: summary quoted with its context.
RuleText = Annotated[str, Field(min_length=1, max_length=5000)]
#: A key, code or paragraph reference.
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class TriggerRaisedV2Data(Payload):
    trigger_id: UUID
    provider: OdsCode
    code: str = Field(min_length=1, max_length=64, description="Trigger code from the framework pack.")
    theme: Theme
    metric: MetricId | None = None
    evidence: RuleText
    source: ShortText = Field(description="What raised it, e.g. exception_report:<id>.")
    framework_paragraph: ShortText = Field(description="The framework paragraph behind it.")
    raised_at: datetime
    key: ShortText | None = None
    cause_for_concern: bool = False


class TriggerRaisedV2(Envelope[TriggerRaisedV2Data]):
    """A trigger of concern was hit for a provider under one theme (paras 36-61); v2 bounds every field."""

    type: Literal["trigger.raised.v2"] = "trigger.raised.v2"


class TriggerClearedV2Data(Payload):
    trigger_id: UUID
    provider: OdsCode
    code: str = Field(min_length=1, max_length=64)
    theme: Theme
    metric: MetricId | None = None
    key: ShortText
    reason: RuleText
    cleared_at: datetime


class TriggerClearedV2(Envelope[TriggerClearedV2Data]):
    """A trigger's condition no longer holds; v2 bounds every field."""

    type: Literal["trigger.cleared.v2"] = "trigger.cleared.v2"


class TriggerReviewDueV2Data(Payload):
    provider: OdsCode
    review_date: date
    reason: ShortText


class TriggerReviewDueV2(Envelope[TriggerReviewDueV2Data]):
    """Time has passed for a provider with open triggers: re-read them (metrics to itself); v2
    bounds every field."""

    type: Literal["trigger_review.due.v2"] = "trigger_review.due.v2"


class MetricScoresCalculatedV2Data(Payload):
    provider: OdsCode
    framework: str = Field(min_length=1, max_length=32)
    metric_scores: dict[MetricId, Annotated[float, Field(ge=1, le=4)]] = Field(
        max_length=200, description="Each scored metric's latest month, 1.00 best to 4.00 worst."
    )
    mean_score: float | None = Field(default=None, ge=1, le=4, description="None until a metric is scored.")
    in_financial_deficit: bool
    calculated_at: datetime


class MetricScoresCalculatedV2(Envelope[MetricScoresCalculatedV2Data]):
    """A provider's metric scores changed under a scored framework (NOF 2025/26); v2 bounds them."""

    type: Literal["metric_scores.calculated.v2"] = "metric_scores.calculated.v2"


class SupportNeedIdentifiedV2Data(Payload):
    need_id: UUID
    provider: OdsCode
    theme: Theme
    trigger_ids: list[UUID] = Field(min_length=1, max_length=200)
    trigger_codes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=200
    )
    reason: RuleText
    identified_at: datetime


class SupportNeedIdentifiedV2(Envelope[SupportNeedIdentifiedV2Data]):
    """A potential support need for a provider under one theme (para 24); v2 bounds every field."""

    type: Literal["support_need.identified.v2"] = "support_need.identified.v2"


class SupportNeedResolvedV2Data(Payload):
    need_id: UUID
    provider: OdsCode
    theme: Theme
    reason: RuleText
    resolved_at: datetime


class SupportNeedResolvedV2(Envelope[SupportNeedResolvedV2Data]):
    """Every trigger behind a support need has cleared; v2 bounds every field."""

    type: Literal["support_need.resolved.v2"] = "support_need.resolved.v2"


class PathwayStepV2(Payload):
    """One step of the way out of a segment, bounded (the engine's ``PathwayStep``)."""

    action: RuleText
    clears: list[ShortText] = Field(max_length=200, description="Keys of the triggers this step clears.")
    segment_after: int = Field(ge=1, le=5)
    source: ShortText


class SegmentProposedV2Data(Payload):
    proposal_id: UUID
    provider: OdsCode
    framework: str = Field(min_length=1, max_length=32)
    proposed_segment: int = Field(ge=1, le=5)
    segment_name: ShortText
    current_segment: int | None = Field(default=None, ge=1, le=5)
    decision_timing: Literal["immediate", "next_quarterly_review"]
    review_date: date | None = None
    support_needs: dict[Theme, bool]
    trigger_keys: list[ShortText] = Field(max_length=200)
    rationale: list[RuleText] = Field(min_length=1, max_length=100)
    pathway: list[PathwayStepV2] = Field(max_length=100)
    proposed_at: datetime


class SegmentProposedV2(Envelope[SegmentProposedV2Data]):
    """The rules' segment proposal (Table 2, para 31), a prompt for the regional team; v2 bounds it."""

    type: Literal["segment.proposed.v2"] = "segment.proposed.v2"


class SupportPackageProposedV2Data(Payload):
    package_id: UUID
    need_id: UUID
    provider: OdsCode
    provider_name: ShortText
    theme: Theme
    status: str = Field(
        min_length=1, max_length=32, description="Lifecycle status; a proposal starts as 'draft'."
    )
    icbs: list[OdsCode] = Field(
        min_length=1, max_length=10, description="ICBs that co-own the package with the region."
    )
    region: OdsCode
    summary: RuleText
    proposed_at: datetime


class SupportPackageProposedV2(Envelope[SupportPackageProposedV2Data]):
    """A draft support package was opened for a support need (paras 32-35); v2 bounds every field."""

    type: Literal["support_package.proposed.v2"] = "support_package.proposed.v2"


AnyTriggerRaised = TriggerRaised | TriggerRaisedV2
AnyTriggerCleared = TriggerCleared | TriggerClearedV2
AnyTriggerReviewDue = TriggerReviewDue | TriggerReviewDueV2
AnyMetricScoresCalculated = MetricScoresCalculated | MetricScoresCalculatedV2
AnySupportNeedIdentified = SupportNeedIdentified | SupportNeedIdentifiedV2
AnySupportNeedResolved = SupportNeedResolved | SupportNeedResolvedV2
AnySegmentProposed = SegmentProposed | SegmentProposedV2
AnySupportPackageProposed = SupportPackageProposed | SupportPackageProposedV2

# The support-package lifecycle's events live in their own module, which builds on ``Payload``,
# ``Actor`` and the bounded texts above: imported here, once those exist, so that ``ALL_EVENTS``
# names every event. (``oversight_contracts`` imports this module first, so this always resolves.)
from oversight_contracts.alerts import (  # noqa: E402
    AlertAcknowledged,
    AlertIssued,
    AlertResolved,
    AlertSnoozed,
)
from oversight_contracts.support import (  # noqa: E402
    SupportPackageAcknowledged,
    SupportPackageAgreed,
    SupportPackageCommentAdded,
    SupportPackageDeliveryStarted,
    SupportPackageEdited,
    SupportPackageEscalated,
    SupportPackageExitDeclined,
    SupportPackageExited,
    SupportPackageExitProposed,
    SupportPackageMilestoneMissed,
    SupportPackagePutForward,
    SupportPackageSignedOff,
    SupportPackageSignOffWithdrawn,
    SupportPackageWithdrawn,
)

#: Every event type, in the order of the main flow.
ALL_EVENTS: tuple[type[Envelope[Payload]], ...] = (  # type: ignore[assignment]
    ExceptionReportReceived,
    SubmissionReceived,
    ProviderFactsRecorded,
    MaterialConcernRaised,
    MetricEvaluated,
    TriggerRaised,
    TriggerCleared,
    TriggerReviewDue,
    MetricScoresCalculated,
    SupportNeedIdentified,
    SupportNeedResolved,
    SegmentProposed,
    SegmentDecided,
    SupportPackageProposed,
    ExceptionReportReceivedV2,
    SubmissionReceivedV2,
    ProviderFactsRecordedV2,
    MaterialConcernRaisedV2,
    IcsViewRecorded,
    SegmentDecidedV2,
    TriggerRaisedV2,
    TriggerClearedV2,
    TriggerReviewDueV2,
    MetricScoresCalculatedV2,
    SupportNeedIdentifiedV2,
    SupportNeedResolvedV2,
    SegmentProposedV2,
    SupportPackageProposedV2,
    SupportPackagePutForward,
    SupportPackageEdited,
    SupportPackageSignedOff,
    SupportPackageSignOffWithdrawn,
    SupportPackageAgreed,
    SupportPackageAcknowledged,
    SupportPackageCommentAdded,
    SupportPackageDeliveryStarted,
    SupportPackageMilestoneMissed,
    SupportPackageExitProposed,
    SupportPackageExitDeclined,
    SupportPackageExited,
    SupportPackageWithdrawn,
    SupportPackageEscalated,
    AlertIssued,
    AlertAcknowledged,
    AlertSnoozed,
    AlertResolved,
)

#: Released versions no service publishes any more: kept so that their history on the broker stays
#: readable (consumers of the ingest events read v1 and v2 alike), never produced again.
SUPERSEDED: frozenset[type[Envelope[Payload]]] = frozenset(
    e
    for e in ALL_EVENTS
    if e.event_type()
    in {
        "exception_report.received.v1",
        "submission.received.v1",
        "provider_facts.recorded.v1",
        "material_concern.raised.v1",
        "segment.decided.v1",
        "trigger.raised.v1",
        "trigger.cleared.v1",
        "trigger_review.due.v1",
        "metric_scores.calculated.v1",
        "support_need.identified.v1",
        "support_need.resolved.v1",
        "segment.proposed.v1",
        "support_package.proposed.v1",
    }
)

EVENTS_BY_TYPE: dict[str, type[Envelope[Payload]]] = {e.event_type(): e for e in ALL_EVENTS}
