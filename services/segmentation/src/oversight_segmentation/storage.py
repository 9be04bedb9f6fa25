"""What segmentation keeps: support needs and their triggers, the facts the segment rules read,
every proposal the rules made and every decision the regional team took."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from oversight_runtime.storage import ActedBy, timestamp


class SupportNeed(SQLModel, table=True):
    """A potential support need under one theme; open until every trigger behind it clears."""

    __tablename__ = "support_need"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    status: str = "open"
    reason: str
    identified_at: datetime = timestamp()
    resolved_at: datetime | None = timestamp(nullable=True)


class NeedTrigger(SQLModel, table=True):
    """A trigger counted towards a support need; active until cleared."""

    __tablename__ = "need_trigger"

    trigger_id: UUID = Field(primary_key=True)
    need_id: UUID = Field(foreign_key="support_need.id", index=True)
    provider: str = Field(default="", index=True, max_length=5)
    theme: str = ""
    key: str = Field(default="", max_length=200)
    metric: str | None = None
    cause_for_concern: bool = False
    code: str
    evidence: str
    framework_paragraph: str
    raised_at: datetime = timestamp()
    cleared_at: datetime | None = timestamp(nullable=True)


class SegmentationFacts(SQLModel, table=True):
    """Licence, special measures and ratings as last recorded for the provider."""

    __tablename__ = "segmentation_facts"

    provider: str = Field(primary_key=True, max_length=5)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class SegmentationScores(SQLModel, table=True):
    """A provider's metric scores under a scored framework (NOF 2025/26), as metrics last sent them."""

    __tablename__ = "segmentation_scores"

    provider: str = Field(primary_key=True, max_length=5)
    framework: str = Field(max_length=32)
    metric_scores: dict[str, float] = Field(default_factory=dict, sa_type=JSON)
    mean_score: float | None = None
    in_financial_deficit: bool = False


class SegmentProposal(SQLModel, table=True):
    """What the rules proposed, with the reasons and the pathway out; never a decision."""

    __tablename__ = "segment_proposal"
    #: The latest proposal is read after every change: found in the index, not by reading and
    #: sorting every earlier proposal of the provider (each carries its pathway).
    __table_args__ = (Index("ix_segment_proposal_provider_latest", "provider", "proposed_at"),)

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    framework: str
    proposed_segment: int
    segment_name: str
    current_segment: int | None = None
    decision_timing: str
    review_date: date | None = None
    support_needs: dict[str, bool] = Field(sa_type=JSON)
    trigger_keys: list[str] = Field(sa_type=JSON)
    rationale: list[str] = Field(sa_type=JSON)
    pathway: list[dict[str, Any]] = Field(sa_type=JSON)
    #: The mean metric score the proposal rests on (scored frameworks only).
    mean_score: float | None = None
    proposed_at: datetime = timestamp()


class IcsView(ActedBy, table=True):
    """The system leaders' view on a provider's segmentation, given by an ICS lead (para 27)."""

    __tablename__ = "ics_view"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    icb: str = Field(max_length=5)
    proposal_id: UUID | None = Field(default=None, foreign_key="segment_proposal.id")
    recommended_segment: int | None = None
    view: str
    recorded_at: datetime = timestamp(index=True)


class SegmentDecision(ActedBy, table=True):
    """The regional team's decision, with who took it, the ICS views it had regard to and the
    reason (para 27). Decisions from before sign-in hold the view as free text in ``legacy_ics_view``."""

    __tablename__ = "segment_decision"
    __table_args__ = (Index("ix_segment_decision_provider_latest", "provider", "decided_at"),)

    id: UUID = Field(primary_key=True)
    proposal_id: UUID | None = Field(default=None, foreign_key="segment_proposal.id")
    provider: str = Field(index=True, max_length=5)
    segment: int
    previous_segment: int | None = None
    #: Each ``IcsViewTaken`` as it stood when the decision was taken (a snapshot, not a reference).
    ics_views: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    legacy_ics_view: str | None = None
    reason: str
    decided_at: datetime = timestamp()


TABLES = (
    SupportNeed,
    NeedTrigger,
    SegmentationFacts,
    SegmentationScores,
    SegmentProposal,
    IcsView,
    SegmentDecision,
)
