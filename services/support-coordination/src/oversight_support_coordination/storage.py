"""What support coordination keeps: a support case per provider, its needs, its packages and the
timeline of each package.

A package's content (the "new deal": problem, plan items, KPIs, exit criteria, review dates) is one
JSON document, read and written whole through ``lifecycle.PackagePlan``; what an agreement rests on
is frozen into ``basis`` when it is agreed, so later changes cannot rewrite it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, UniqueConstraint
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from oversight_runtime.storage import timestamp


class SupportCase(SQLModel, table=True):
    """A provider's open conversation about support: every need identified while it is open
    joins it (paras 32-33), so needs sharing a cause are seen together."""

    __tablename__ = "support_case"

    id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    icbs: list[str] = Field(sa_type=JSON)
    region: str = Field(max_length=5)
    status: str = Field(default="open", max_length=16)
    opened_at: datetime = timestamp()
    closed_at: datetime | None = timestamp(nullable=True)


class CaseNeed(SQLModel, table=True):
    """A support need in a case, and the underlying cause it shares with others, if any."""

    __tablename__ = "support_case_need"

    need_id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="support_case.id", index=True)
    theme: str = Field(max_length=64)
    #: The codes and ids of the triggers behind the need, as the need's event names them.
    trigger_codes: list[str] = Field(sa_type=JSON)
    trigger_ids: list[str] = Field(sa_type=JSON)
    reason: str
    identified_at: datetime = timestamp()
    resolved_at: datetime | None = timestamp(nullable=True)
    shared_cause: str | None = None


class SupportPackage(SQLModel, table=True):
    """A package of support, co-owned by the provider's ICBs and its region (para 32)."""

    __tablename__ = "support_package"

    id: UUID = Field(primary_key=True)
    #: The need the draft was opened for; later needs of the case join its plan.
    need_id: UUID = Field(unique=True)
    case_id: UUID | None = Field(default=None, foreign_key="support_case.id", index=True)
    provider: str = Field(index=True, max_length=5)
    theme: str
    status: str = "draft"
    icbs: list[str] = Field(sa_type=JSON)
    region: str
    summary: str
    plan: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    sign_offs: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    acknowledged_by: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    basis: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: SQLAlchemy's version counter, bumped by every update: an update made from a stale read
    #: fails (``StaleDataError``, answered 409) instead of silently overwriting another's change.
    version: int = 1
    created_at: datetime = timestamp()
    status_changed_at: datetime | None = timestamp(nullable=True)
    agreed_at: datetime | None = timestamp(nullable=True)
    delivery_started_at: datetime | None = timestamp(nullable=True)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class ProviderSegment(SQLModel, table=True):
    """Each provider's latest segment, from the regional team's decisions (``segment.decided``):
    it chooses the offers a draft may name (mandated support only for segments 3-4, Table 2) and
    the segment-1 providers that can support others as peers."""

    __tablename__ = "provider_segment"

    provider: str = Field(primary_key=True, max_length=5)
    segment: int
    decided_at: datetime = timestamp()


class PackageTimelineEntry(SQLModel, table=True):
    """Every change to a package, so its history reads as a story (Dispatch's timelines, OnCall's
    alert group log): what, who (from the token; none when monitoring acted), why, and the event
    that caused it."""

    __tablename__ = "package_timeline"

    id: int | None = Field(default=None, primary_key=True)
    package_id: UUID = Field(foreign_key="support_package.id", index=True)
    kind: str
    detail: str
    at: datetime = timestamp()
    status: str | None = Field(default=None, max_length=16)
    actor: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    cause_event_id: UUID | None = None
    correlation_id: UUID | None = None


class PackageMilestone(SQLModel, table=True):
    """A milestone monitoring has judged (``monitoring``): a KPI's value for a period on its
    trajectory (the latest value evaluated, kept to count misses in a row), or a plan item past
    its due date. ``missed_event_id`` is the ``support_package.milestone_missed`` that reported
    it, so a milestone is reported once however often its value is evaluated again; the unique
    key stops a second row for the same milestone (a redelivery, another replica)."""

    __tablename__ = "package_milestone"
    __table_args__ = (
        UniqueConstraint("package_id", "kind", "item", "period", name="uq_package_milestone_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: Found by the unique key, which leads with it (no index of its own).
    package_id: UUID = Field(foreign_key="support_package.id")
    #: ``kpi`` or ``plan_item``.
    kind: str = Field(max_length=16)
    #: The KPI's metric, or the plan item's id.
    item: str = Field(max_length=64)
    #: The KPI's period (``YYYY-MM``), or the plan item's due date (``YYYY-MM-DD``).
    period: str = Field(max_length=10)
    target: float | None = None
    actual: float | None = None
    met: bool
    missed_event_id: UUID | None = None
    #: The event whose value was judged last (None for the daily plan item check).
    cause_event_id: UUID | None = None
    assessed_at: datetime = timestamp()


class ProviderTrigger(SQLModel, table=True):
    """Each provider's triggers as metrics raised and cleared them (``trigger.raised`` and
    ``trigger.cleared``): a package's exit criteria name trigger codes, and hold when none of
    them is active (seed 002: exit criteria). Cleared ones are kept: monitoring proposes exit
    only for triggers it saw clear (``monitoring.exit_due``)."""

    __tablename__ = "provider_trigger"

    trigger_id: UUID = Field(primary_key=True)
    provider: str = Field(index=True, max_length=5)
    code: str = Field(max_length=64)
    metric: str | None = Field(default=None, max_length=64)
    #: The trigger's own key (``code:metric``, ``code:category``, ``code:theme`` or ``code``), as a
    #: segment proposal's pathway steps name the triggers they clear; None if the event had none.
    trigger_key: str | None = Field(default=None, max_length=200)
    raised_at: datetime | None = timestamp(nullable=True)
    cleared_at: datetime | None = timestamp(nullable=True)

    @property
    def key(self) -> str:
        """The trigger as exit criteria name it: its own key, else ``code`` or ``code:metric``."""
        return self.trigger_key or (f"{self.code}:{self.metric}" if self.metric else self.code)


class ProviderProposal(SQLModel, table=True):
    """Each provider's latest segment proposal (``segment.proposed``): its pathway's steps are a
    draft package's default exit criteria (seed 001: a clear pathway out), and an agreement
    freezes the proposal it had regard to with its pathway."""

    __tablename__ = "provider_proposal"

    provider: str = Field(primary_key=True, max_length=5)
    proposal_id: UUID
    proposed_segment: int
    #: The pathway's steps as the event gave them: action, clears (trigger keys), segment_after, source.
    pathway: list[dict[str, Any]] = Field(sa_type=JSON)
    proposed_at: datetime = timestamp()


TABLES = (
    SupportCase,
    CaseNeed,
    SupportPackage,
    ProviderSegment,
    PackageTimelineEntry,
    PackageMilestone,
    ProviderTrigger,
    ProviderProposal,
)
