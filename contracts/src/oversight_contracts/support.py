"""The support-package lifecycle, one event per change (issue 11).

A support package is shaped, agreed by the ICS and the region, acknowledged by the trust,
delivered, monitored and closed (seed 003 paras 32-35; the "new deal" of Kerr recommendation 1.6;
seed 002 on recovery KPIs, trajectories and exit criteria). Every change to a package is one of
the events below, all with the same base payload (which package, where it stands after the change
and before it, who acted and why) and, where it matters, what that change carries.

``support_package.proposed.v2`` (``oversight_contracts.events``) stays the event of a draft
being opened for a support need; putting a package forward for sign-off is ``.put_forward.v1``.

Every string and list is bounded, as in the v2 events: an event stays far under the broker's
1 MiB message size, and a consumer parks one larger than any producer of the platform would make.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from oversight_contracts.codes import MetricId, OdsCode, Period
from oversight_contracts.envelope import Envelope
from oversight_contracts.events import Actor, Payload, RuleText, ShortText


class PackageStatus(StrEnum):
    """Where a support package stands in its lifecycle."""

    DRAFT = "draft"
    PROPOSED = "proposed"
    AGREED = "agreed"
    IN_DELIVERY = "in_delivery"
    EXIT_PROPOSED = "exit_proposed"
    EXITED = "exited"
    WITHDRAWN = "withdrawn"
    ESCALATED = "escalated"


#: Why a person (or monitoring) made a change.
ReasonText = Annotated[str, Field(min_length=1, max_length=2000)]
#: A comment on a package, from the trust, the ICS or the region.
CommentText = Annotated[str, Field(min_length=1, max_length=4000)]
#: Which side of the agreement signed off: an ICS lead of one of the provider's ICBs, or a
#: regional decider of its region.
SignOffSide = Literal["ics", "region"]


class SupportPackageChangeData(Payload):
    """What every change to a support package says: which package, its status after the change
    and before it, who acted, why and when."""

    package_id: UUID = Field(description="The support package that changed.")
    case_id: UUID = Field(description="The provider's support case the package belongs to.")
    provider: OdsCode = Field(description="ODS code of the trust the package supports.")
    icbs: list[OdsCode] = Field(
        min_length=1, max_length=10, description="ICBs that co-own the package with the region."
    )
    region: OdsCode = Field(description="ODS code of the NHS England region that agrees the package.")
    status: PackageStatus = Field(description="The package's status after the change.")
    previous_status: PackageStatus = Field(
        description="Its status before the change; the same as `status` for a change within one status."
    )
    actor: Actor | None = Field(
        description="Who acted, from their verified token; None when the platform's monitoring acted."
    )
    reason: ReasonText | None = Field(default=None, description="Why, in the actor's words, if given.")
    at: datetime = Field(description="When the change was made.")


# --- shaping and agreeing ----------------------------------------------------------------------


class SupportPackagePutForwardData(SupportPackageChangeData):
    problem_statement: RuleText = Field(
        description="The shared view of the problem the package is put forward on (Kerr rec 1.6a)."
    )


class SupportPackagePutForward(Envelope[SupportPackagePutForwardData]):
    """A draft package was put forward (draft -> proposed) for sign-off by the ICS and the region
    (seed 003 para 32; Kerr rec 1.6: the ICS and national bodies agree the "new deal").
    ``support_package.proposed.v2`` remains the opening of the draft."""

    type: Literal["support_package.put_forward.v1"] = "support_package.put_forward.v1"


class SupportPackageEditedData(SupportPackageChangeData):
    fields_changed: list[ShortText] = Field(
        min_length=1, max_length=100, description="The package's fields the edit changed."
    )


class SupportPackageEdited(Envelope[SupportPackageEditedData]):
    """The package was edited: its problem, plan, KPIs, exit criteria or review dates (seed 003
    paras 32-35: a package tailored to each need; Kerr rec 1.6a)."""

    type: Literal["support_package.edited.v1"] = "support_package.edited.v1"


class SupportPackageSignOffData(SupportPackageChangeData):
    side: SignOffSide = Field(description="The side of the agreement: the ICS or the region.")
    organisation: OdsCode = Field(description="The ICB or region that signed off (or whose sign-off lapsed).")


class SupportPackageSignedOff(Envelope[SupportPackageSignOffData]):
    """One side, the ICS or the region, signed the package off; the second sign-off agrees it
    (seed 003 para 32: regional teams work with system leaders; Kerr rec 1.6)."""

    type: Literal["support_package.signed_off.v1"] = "support_package.signed_off.v1"


class SupportPackageSignOffWithdrawn(Envelope[SupportPackageSignOffData]):
    """A sign-off was withdrawn: the package was edited after it, so it no longer agrees to the
    package as it stands (seed 003 para 32; Kerr rec 1.6)."""

    type: Literal["support_package.sign_off_withdrawn.v1"] = "support_package.sign_off_withdrawn.v1"


class AgreementBasis(Payload):
    """What an agreed package rests on, frozen when it was agreed so that later changes to the
    framework pack, the proposal or the triggers cannot silently rewrite it."""

    framework_pack: str = Field(min_length=1, max_length=32, description="The framework pack's id.")
    framework_version: str = Field(min_length=1, max_length=32, description="The pack's version.")
    proposal_id: UUID | None = Field(
        default=None, description="The segment proposal the agreement had regard to, if any."
    )
    trigger_ids: list[ShortText] = Field(
        max_length=200, description="The triggers behind the package's needs at agreement."
    )
    pathway: list[RuleText] = Field(
        max_length=100, description="The pathway steps out of the segment at agreement (seed 001)."
    )


class SupportPackageAgreedData(SupportPackageChangeData):
    basis: AgreementBasis


class SupportPackageAgreed(Envelope[SupportPackageAgreedData]):
    """The package was agreed by both the ICS and the region: the "new deal" (Kerr rec 1.6; seed
    003 para 32), or re-agreed after an escalation."""

    type: Literal["support_package.agreed.v1"] = "support_package.agreed.v1"


class SupportPackageAcknowledged(Envelope[SupportPackageChangeData]):
    """The trust acknowledged the agreed package: worked out with the provider (seed 003 para 32)
    and shared with it (Kerr rec 1.6a); an acknowledgement, not a veto."""

    type: Literal["support_package.acknowledged.v1"] = "support_package.acknowledged.v1"


class SupportPackageCommentAddedData(SupportPackageChangeData):
    comment: CommentText


class SupportPackageCommentAdded(Envelope[SupportPackageCommentAddedData]):
    """Someone who oversees the provider, or the trust itself, commented on the package (seed 003
    para 4: a single conversation; seed 001: a two-way conversation)."""

    type: Literal["support_package.comment_added.v1"] = "support_package.comment_added.v1"


# --- delivery, monitoring and exit --------------------------------------------------------------


class SupportPackageDeliveryStarted(Envelope[SupportPackageChangeData]):
    """Delivery of the agreed package started: named support over a set time (Kerr rec 1.6;
    seed 003 paras 34-35)."""

    type: Literal["support_package.delivery_started.v1"] = "support_package.delivery_started.v1"


class SupportPackageMilestoneMissedData(SupportPackageChangeData):
    kind: Literal["kpi", "plan_item"] = Field(
        description="A recovery KPI off its trajectory for a period, or a plan item past its due date."
    )
    metric: MetricId | None = Field(default=None, description="The KPI's metric (kind 'kpi').")
    period: Period | None = Field(default=None, description="The period off trajectory (kind 'kpi').")
    target: float | None = Field(
        default=None, allow_inf_nan=False, description="The trajectory's target for the period."
    )
    actual: float | None = Field(default=None, allow_inf_nan=False, description="The value evaluated.")
    plan_item_id: UUID | None = Field(default=None, description="The plan item overdue (kind 'plan_item').")
    due: date | None = Field(default=None, description="The plan item's due date (kind 'plan_item').")
    consecutive: int = Field(ge=1, description="Missed milestones in a row, this one included.")

    @model_validator(mode="after")
    def _names_what_was_missed(self) -> Self:
        if self.kind == "kpi" and (self.metric is None or self.period is None):
            raise ValueError("a missed KPI names its metric and period")
        if self.kind == "plan_item" and (self.plan_item_id is None or self.due is None):
            raise ValueError("a missed plan item names the item and its due date")
        return self


class SupportPackageMilestoneMissed(Envelope[SupportPackageMilestoneMissedData]):
    """Monitoring found a recovery KPI off its agreed trajectory, or a plan item past its due date
    (seed 002: recovery KPIs and trajectories are monitored; seed 003 para 24)."""

    type: Literal["support_package.milestone_missed.v1"] = "support_package.milestone_missed.v1"


class SupportPackageExitProposedData(SupportPackageChangeData):
    criteria_met: list[RuleText] = Field(
        min_length=1, max_length=100, description="The exit criteria that now hold."
    )


class SupportPackageExitProposed(Envelope[SupportPackageExitProposedData]):
    """Every exit criterion holds (the triggers behind them have cleared), so exit is proposed
    (seed 002: clear exit criteria; seed 003 para 30; seed 001: a clear pathway out)."""

    type: Literal["support_package.exit_proposed.v1"] = "support_package.exit_proposed.v1"


class SupportPackageExitDeclined(Envelope[SupportPackageChangeData]):
    """The regional team declined a proposed exit: the package returns to delivery (seed 003
    para 27: the regional team decides; seed 002)."""

    type: Literal["support_package.exit_declined.v1"] = "support_package.exit_declined.v1"


class SupportPackageExited(Envelope[SupportPackageChangeData]):
    """The provider exited the package: its exit criteria met and confirmed (seed 002: exit
    criteria; Kerr rec 1.6: an exit strategy)."""

    type: Literal["support_package.exited.v1"] = "support_package.exited.v1"


class SupportPackageWithdrawn(Envelope[SupportPackageChangeData]):
    """The package was withdrawn before delivery, or replaced after an escalation, e.g. by
    mandated support after a move to segment 3 (seed 003 paras 32-35, Table 2)."""

    type: Literal["support_package.withdrawn.v1"] = "support_package.withdrawn.v1"


class SupportPackageEscalatedData(SupportPackageChangeData):
    cause: Literal["missed_milestones", "segment_worsened", "decision"] = Field(
        description="A second missed milestone in a row, a worse segment, or the regional decider's decision."
    )


class SupportPackageEscalated(Envelope[SupportPackageEscalatedData]):
    """The plan no longer fits and the ICS and region must re-agree it (seed 002: trajectories
    are monitored; seed 003 paras 24 and 30)."""

    type: Literal["support_package.escalated.v1"] = "support_package.escalated.v1"


#: Any change to a support package after its draft was opened, as a consumer reads it.
AnySupportPackageChange = (
    SupportPackagePutForward
    | SupportPackageEdited
    | SupportPackageSignedOff
    | SupportPackageSignOffWithdrawn
    | SupportPackageAgreed
    | SupportPackageAcknowledged
    | SupportPackageCommentAdded
    | SupportPackageDeliveryStarted
    | SupportPackageMilestoneMissed
    | SupportPackageExitProposed
    | SupportPackageExitDeclined
    | SupportPackageExited
    | SupportPackageWithdrawn
    | SupportPackageEscalated
)
