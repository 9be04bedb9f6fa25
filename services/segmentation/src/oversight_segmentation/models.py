"""Request and response bodies of segmentation's API; routes never return a table as it is.

Who decided or gave a view is never part of a request: it is the signed-in user (``actor``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from oversight_contracts import Actor, IcsViewTaken, Prose
from oversight_segmentation.storage import SegmentProposal


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerPublic(BaseModel):
    trigger_id: UUID
    code: str
    key: str
    metric: str | None
    evidence: str
    framework_paragraph: str
    raised_at: datetime
    cleared_at: datetime | None


class SupportNeedPublic(BaseModel):
    id: UUID
    provider: str
    theme: str
    status: str
    reason: str
    identified_at: datetime
    resolved_at: datetime | None
    triggers: list[TriggerPublic]


class IcsViewCreate(_Body):
    """An ICS lead's view on a provider's segmentation, for the regional team to have regard to."""

    proposal_id: UUID | None = Field(default=None, description="The segment proposal this answers, if any.")
    recommended_segment: int | None = Field(default=None, ge=1, le=5, strict=True)
    view: Prose = Field(min_length=1, max_length=4000, description="The system leaders' view (para 27).")


class IcsViewPublic(IcsViewTaken):
    provider: str


class SegmentDecisionCreate(_Body):
    segment: int = Field(ge=1, le=5, strict=True)
    proposal_id: UUID | None = Field(default=None, description="The proposal this decision answers.")
    reason: Prose = Field(min_length=1, max_length=4000)


class SegmentDecisionPublic(BaseModel):
    id: UUID
    proposal_id: UUID | None
    provider: str
    segment: int
    previous_segment: int | None
    reason: str
    decided_at: datetime
    #: The regional decider; None only for decisions recorded before sign-in existed.
    actor: Actor | None
    ics_views: list[IcsViewTaken]
    legacy_ics_view: str | None = None


class SegmentHistory(BaseModel):
    provider: str
    current_segment: int | None
    proposals: list[SegmentProposal]
    decisions: list[SegmentDecisionPublic]


class Pathway(BaseModel):
    provider: str
    proposal_id: UUID | None
    proposed_segment: int | None
    decision_timing: str | None
    review_date: date | None
    rationale: list[str]
    pathway: list[dict[str, Any]]
