"""Request and response bodies of support coordination's API; routes never return a table as it is.

Who acted is never part of a request: it is the signed-in user. What a package holds is the
lifecycle's ``PackagePlan``; edit bodies here are validated strictly and turned into it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oversight_contracts import Actor, OdsCode, PackageStatus, Prose
from oversight_contracts.frameworks import Direction
from oversight_runtime.errors import Problem, Rejected
from oversight_runtime.reference import OrganisationRegistry, ProviderKind, UnknownOrganisation
from oversight_support_coordination.lifecycle import (
    ExitCriterion,
    Kpi,
    Milestone,
    PackageAction,
    PackageEdit,
    PackagePlan,
    PlanItem,
    PlanItemStatus,
)

Period = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="A month, YYYY-MM.")
#: The longest underlying cause a user may write down (para 33).
CAUSE_MAX_CHARS = 2000
#: A plan item's action: room for one addressing a shared cause ("Address the shared cause: ...").
ACTION_MAX_CHARS = CAUSE_MAX_CHARS + 100


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanItemBody(_Body):
    id: UUID | None = Field(default=None, description="Keep an item's id to edit it; none for a new item.")
    action: Prose = Field(min_length=1, max_length=ACTION_MAX_CHARS, description="What will be done.")
    needs: list[UUID] = Field(min_length=1, max_length=50, description="The needs it addresses (para 33).")
    owner: OdsCode = Field(description="The organisation that owns the item.")
    offer: str | None = Field(default=None, max_length=64, description="A catalogue offer id (para 35).")
    peer: OdsCode | None = Field(
        default=None,
        description="A peer provider giving support (Table 2): a provider of the registry other than "
        "the package's own; GET the package's peers for suggestions.",
    )
    due: date | None = None
    status: PlanItemStatus = PlanItemStatus.PLANNED

    def item(self) -> PlanItem:
        data = self.model_dump(exclude={"id", "needs"})
        return PlanItem(id=self.id or uuid4(), needs=tuple(self.needs), **data)


class MilestoneBody(_Body):
    period: str = Period
    target: float = Field(allow_inf_nan=False)


class KpiBody(_Body):
    metric: str = Field(min_length=1, max_length=64, description="A metric of the framework pack.")
    direction: Direction
    baseline: float | None = Field(default=None, allow_inf_nan=False)
    trajectory: list[MilestoneBody] = Field(min_length=1, max_length=36)

    def kpi(self) -> Kpi:
        trajectory = tuple(Milestone(m.period, m.target) for m in self.trajectory)
        return Kpi(self.metric, self.direction, trajectory, self.baseline)


class ExitCriterionBody(_Body):
    description: Prose = Field(min_length=1, max_length=1000)
    clears: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="The triggers it clears: codes, or keys such as code:metric.",
    )


class PackageEditBody(_Body):
    """The parts of the "new deal" (Kerr rec 1.6) to replace; a part left out stays as it is."""

    problem_statement: Prose | None = Field(default=None, min_length=1, max_length=5000)
    plan_items: list[PlanItemBody] | None = Field(default=None, max_length=100)
    kpis: list[KpiBody] | None = Field(default=None, max_length=20)
    exit_criteria: list[ExitCriterionBody] | None = Field(default=None, max_length=50)
    review_dates: list[date] | None = Field(default=None, max_length=20)

    def edit(self) -> PackageEdit:
        def tupled(values: list[Any] | None, convert: Any) -> tuple[Any, ...] | None:
            return None if values is None else tuple(convert(v) for v in values)

        return PackageEdit(
            problem_statement=self.problem_statement,
            plan_items=tupled(self.plan_items, PlanItemBody.item),
            kpis=tupled(self.kpis, KpiBody.kpi),
            exit_criteria=tupled(self.exit_criteria, lambda c: ExitCriterion(c.description, tuple(c.clears))),
            review_dates=tupled(self.review_dates, lambda d: d),
        )

    def check_peers(self, registry: OrganisationRegistry, provider: str) -> None:
        """Raise ``Rejected`` naming each plan item whose peer is not a provider the registry knows,
        or is the package's own provider (a provider cannot be its own peer)."""
        problems = []
        for i, item in enumerate(self.plan_items or ()):
            loc = ("body", "plan_items", i, "peer")
            if item.peer is None:
                continue
            if item.peer == provider:
                msg = f"{item.peer} is the package's own provider: name another provider as its peer"
                problems.append(Problem(loc, msg, "peer_is_provider"))
                continue
            try:
                registry.provider(item.peer)
            except UnknownOrganisation as error:
                problems.append(Problem(loc, str(error), "unknown_peer"))
        if problems:
            raise Rejected(*problems)

    def check_kpis(self, metrics: Collection[str], framework: str) -> None:
        """Raise ``Rejected`` naming each KPI whose metric is not one of the active framework
        pack's: a recovery KPI is monitored on the platform's own evaluations (seed 002)."""
        problems = [
            Problem(
                ("body", "kpis", i, "metric"),
                f"{kpi.metric!r} is not a metric of the framework pack {framework}",
                "unknown_metric",
            )
            for i, kpi in enumerate(self.kpis or ())
            if kpi.metric not in metrics
        ]
        if problems:
            raise Rejected(*problems)


class PackageActionBody(_Body):
    """A move in the package's lifecycle (sign-off, acknowledgement, comment, ...)."""

    action: PackageAction = Field(description="Edit the package's content with PATCH instead.")
    reason: Prose | None = Field(default=None, max_length=4000, description="Why; the comment itself.")

    @field_validator("action")
    @classmethod
    def _not_an_edit(cls, action: PackageAction) -> PackageAction:
        if action == PackageAction.EDIT:
            raise ValueError("edit the package with PATCH on the package, not as an action")
        return action


class SharedCauseBody(_Body):
    """Needs of one case that share an underlying cause, and the cause (para 33)."""

    need_ids: list[UUID] = Field(
        min_length=2, max_length=50, description="At least two needs of the case; the first named leads."
    )
    cause: Prose = Field(min_length=1, max_length=CAUSE_MAX_CHARS, description="The underlying cause.")


class SignOffPublic(BaseModel):
    role_kind: str
    organisation: str
    user: str
    at: datetime


class PackagePublic(BaseModel):
    id: UUID
    case_id: UUID | None
    need_id: UUID
    provider: str
    theme: str
    status: PackageStatus
    icbs: list[str]
    region: str
    summary: str
    plan: PackagePlan
    sign_offs: list[SignOffPublic]
    acknowledged_by: list[dict[str, Any]]
    basis: dict[str, Any] | None
    version: int
    created_at: datetime
    agreed_at: datetime | None
    delivery_started_at: datetime | None
    allowed_actions: list[PackageAction] = Field(description="What the package's status allows next.")


class CaseNeedPublic(BaseModel):
    need_id: UUID
    theme: str
    trigger_codes: list[str]
    reason: str
    identified_at: datetime
    resolved_at: datetime | None
    shared_cause: str | None


class CasePublic(BaseModel):
    id: UUID
    provider: str
    icbs: list[str]
    region: str
    status: str
    opened_at: datetime
    needs: list[CaseNeedPublic]
    packages: list[UUID]


class TimelineEntryPublic(BaseModel):
    id: int
    package_id: UUID
    type: str
    detail: str
    at: datetime
    status: str | None
    actor: Actor | None
    reason: str | None
    details: dict[str, Any]
    cause_event_id: UUID | None
    correlation_id: UUID | None


class SharedCausePublic(BaseModel):
    """The case with the cause on its needs, and the package whose plan now addresses it."""

    case: CasePublic
    package: PackagePublic


class PeerPublic(BaseModel):
    """A provider suggested as a peer for a package's need, and why (``peers``)."""

    ods_code: str
    name: str
    kind: ProviderKind
    icbs: list[str]
    segment: int
    distance_km: float | None = Field(
        description="Between the two providers' main sites, as the crow flies; null when either has none."
    )
    why: str
