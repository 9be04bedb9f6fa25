"""Support coordination's rules for drafting, free of I/O.

Every identified need joins its provider's open support case (paras 32-33) with a draft package
of its own that the ICS and the region shape and agree (``lifecycle``). The draft sets out what
the "new deal" needs agreeing (Kerr 1.6): a shared view of the problem, a plan drawing on the
offers catalogue (paras 34-35), exit criteria and review dates. KPIs and their trajectories are the
teams' to set: a draft does not guess targets.

Needs identified in several themes may share an underlying cause, and then the support should aim
at the cause (para 33): the ICS and regional teams mark such needs, and one plan item addresses
them together (``shared_cause_item``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from uuid import UUID, uuid5

from oversight_contracts import (
    AnySupportNeedIdentified,
    PackageStatus,
    SupportNeedIdentifiedV2,
    SupportPackageProposedV2,
    SupportPackageProposedV2Data,
    Theme,
)
from oversight_runtime.access import Principal
from oversight_runtime.errors import Forbidden, Problem, Rejected
from oversight_runtime.reference import Provider
from oversight_support_coordination.catalogue import Offer, OfferedBy, OffersCatalogue, offers_for
from oversight_support_coordination.lifecycle import (
    ALLOWED,
    ExitCriterion,
    PackageAction,
    PackagePlan,
    PlanItem,
)
from oversight_support_coordination.pathways import FROM_TRIGGERS

SOURCE = "support-coordination"

#: Offers a draft names per need: the best suited few, for the teams to keep, drop or add to.
OFFERS_PER_NEED = 2
#: When a draft's first reviews fall, in weeks from the draft (seed 002: monitored trajectories).
REVIEW_AFTER_WEEKS = (4, 12)


def trigger_codes(need: AnySupportNeedIdentified) -> list[str]:
    """The codes of the triggers behind a need (v1 needs name their trigger ids only)."""
    if isinstance(need, SupportNeedIdentifiedV2):
        return list(dict.fromkeys(need.data.trigger_codes))
    return []


def owner_of(offer: Offer, provider: Provider) -> str:
    """The organisation that owns a plan item drawing on ``offer``: the host ICB for support from
    system partners, the provider itself for peer support it arranges, else the region, which
    brokers national programmes and its own support (paras 34-35)."""
    if offer.provided_by == OfferedBy.ICS_PARTNERS:
        return provider.icbs[0]
    return provider.region


def plan_items_for(
    need: AnySupportNeedIdentified, provider: Provider, offers: Sequence[Offer], today: date
) -> tuple[PlanItem, ...]:
    """One plan item per offer, due after the offer's typical duration. Ids are derived from the
    need and the offer, so drafting the same need twice gives the same items."""
    return tuple(
        PlanItem(
            id=uuid5(need.data.need_id, offer.id),
            action=offer.name,
            needs=(need.data.need_id,),
            owner=owner_of(offer, provider),
            offer=offer.id,
            due=today + timedelta(weeks=offer.typical_weeks),
        )
        for offer in offers
    )


def exit_criteria_for(need: AnySupportNeedIdentified) -> tuple[ExitCriterion, ...]:
    """Until a segment proposal's pathway gives them (``pathways``), the package is done when the
    triggers behind its needs have cleared (seed 001: a clear pathway out; seed 002: exit
    criteria)."""
    theme = need.data.theme.value.replace("_", " ")
    return tuple(
        ExitCriterion(
            f"The {code.replace('_', ' ')} trigger under {theme} has cleared", (code,), FROM_TRIGGERS
        )
        for code in trigger_codes(need)
    )


def draft_plan(
    need: AnySupportNeedIdentified,
    provider: Provider,
    catalogue: OffersCatalogue,
    *,
    segment: int | None,
    today: date,
) -> PackagePlan:
    """The draft "new deal" for a need: offers chosen by theme, trigger and segment."""
    offers = offers_for(catalogue, need.data.theme, trigger_codes(need), segment)[:OFFERS_PER_NEED]
    return PackagePlan(
        problem_statement=need.data.reason,
        plan_items=plan_items_for(need, provider, offers, today),
        offers=tuple(o.id for o in offers),
        exit_criteria=exit_criteria_for(need),
        review_dates=tuple(today + timedelta(weeks=w) for w in REVIEW_AFTER_WEEKS),
    )


def summary_of(provider: Provider, theme: Theme, plan: PackagePlan, need: AnySupportNeedIdentified) -> str:
    """The sentence the draft's first event carries (``support_package.proposed.v2``)."""
    offers = ", ".join(item.action for item in plan.plan_items) or "none suggested"
    return (
        f"Draft support package for {provider.name} ({provider.ods_code}) under "
        f"{theme.value.replace('_', ' ')}. To agree with ICB {', '.join(provider.icbs)} and region "
        f"{provider.region}: a shared view of the problem, a plan, a realistic trajectory, exit "
        f"criteria and named support. Suggested offers: {offers}. Why: {need.data.reason}"
    )[:4000]


def propose_package(
    need: AnySupportNeedIdentified,
    provider: Provider,
    plan: PackagePlan,
    *,
    package_id: UUID,
    now: datetime,
) -> SupportPackageProposedV2:
    """The event that tells the ICS and the region a draft package awaits them."""
    theme = need.data.theme
    return SupportPackageProposedV2.new(
        source=SOURCE,
        subject=need.subject,
        cause=need,
        data=SupportPackageProposedV2Data(
            package_id=package_id,
            need_id=need.data.need_id,
            provider=provider.ods_code,
            provider_name=provider.name,
            theme=theme,
            status="draft",
            icbs=list(provider.icbs),
            region=provider.region,
            summary=summary_of(provider, theme, plan, need),
            proposed_at=now,
        ),
    )


# --- needs sharing an underlying cause (para 33) -------------------------------------------------

#: Who may mark needs as sharing an underlying cause: the ICS and regional oversight teams, who
#: co-ordinate support (para 32) and judge that needs in several themes share a cause so the
#: support aims at it (para 33). The trust is in the conversation (it comments) but does not
#: decide how its needs are grouped; NHS England national viewers change nothing.
SHARED_CAUSE_ROLES = ("ics_member", "ics_lead", "regional_member", "regional_decider")
SHARED_CAUSE_SOURCE = (
    "seed 003 para 33: needs in more than one theme with a shared underlying cause get support "
    "appropriate to the cause, co-ordinated by regional teams with system leaders (para 32)"
)
#: The action of the plan item that addresses needs sharing a cause.
SHARED_CAUSE_ACTION = "Address the shared cause: {cause}"
#: The namespace of shared-cause plan item ids (derived from the needs they address).
_SHARED_CAUSE_ITEMS = UUID("6f1d2b8e-3c47-5a0e-9d61-2f5c4b7a8e13")


def ensure_may_mark_shared_cause(principal: Principal) -> None:
    """Raise ``Forbidden`` unless one of ``principal``'s roles may mark a shared cause."""
    if not any(role in SHARED_CAUSE_ROLES for role in principal.roles):
        raise Forbidden(
            Problem(
                ("path", "case_id"),
                f"{principal.describe()} may not mark needs as sharing an underlying cause: it needs "
                f"{' or '.join(SHARED_CAUSE_ROLES)} ({SHARED_CAUSE_SOURCE})",
                "action_not_permitted",
            )
        )


def shared_cause_needs(requested: Sequence[UUID], resolved: Mapping[UUID, bool]) -> tuple[UUID, ...]:
    """The distinct needs named, in the order given, once each is an open need of the case.

    ``resolved`` maps each of the case's needs to whether it is resolved. Raises ``Rejected``
    naming each need that is not the case's or is resolved (a cleared need needs no support),
    or the list when fewer than two distinct needs remain (a cause shared by one need is no
    shared cause)."""
    problems = []
    for i, need in enumerate(requested):
        if need not in resolved:
            problems.append(
                Problem(("body", "need_ids", i), f"need {need} is not in this case", "unknown_need")
            )
        elif resolved[need]:
            problems.append(
                Problem(
                    ("body", "need_ids", i), f"need {need} is resolved: it needs no support", "need_resolved"
                )
            )
    if problems:
        raise Rejected(*problems)
    needs = tuple(dict.fromkeys(requested))
    if len(needs) < 2:
        raise Rejected.field(
            ("body", "need_ids"),
            "name at least two different needs of the case: a cause is shared by several needs (para 33)",
            "too_few_needs",
        )
    return needs


def package_for_shared_cause(needs: Sequence[UUID], statuses: Mapping[UUID, PackageStatus]) -> UUID:
    """The need whose package gets the item addressing the shared cause: the first named whose
    package can still be edited (``statuses`` maps a need to its package's status). An agreed
    package is not rewritten: it rests on what was agreed (lifecycle)."""
    for need in needs:
        status = statuses.get(need)
        if status is not None and PackageAction.EDIT in ALLOWED[status]:
            return need
    editable = ", ".join(s for s, actions in ALLOWED.items() if PackageAction.EDIT in actions)
    raise Rejected.field(
        ("body", "need_ids"),
        f"none of these needs has a package that can still be edited (one that is {editable}): "
        "the item addressing a shared cause needs one",
        "no_editable_package",
    )


def shared_cause_item(needs: Sequence[UUID], cause: str, *, owner: str) -> PlanItem:
    """One plan item addressing every need of the shared cause (para 33), owned by ``owner`` (the
    region, which co-ordinates support: para 32). Its id is derived from the needs, so marking
    the same needs again (with the cause reworded) rewrites that item instead of adding one."""
    key = ",".join(sorted(str(n) for n in needs))
    return PlanItem(
        id=uuid5(_SHARED_CAUSE_ITEMS, key),
        action=SHARED_CAUSE_ACTION.format(cause=cause),
        needs=tuple(needs),
        owner=owner,
    )


def with_shared_cause_item(items: Sequence[PlanItem], item: PlanItem) -> tuple[PlanItem, ...]:
    """``items`` with ``item`` added at the end or, when an item with its id is there already (the
    same needs marked before), that item with the new action and needs: what the teams set on it
    since (owner, due date, status, offer or peer) stays."""
    if any(existing.id == item.id for existing in items):
        return tuple(
            replace(existing, action=item.action, needs=item.needs) if existing.id == item.id else existing
            for existing in items
        )
    return (*items, item)
