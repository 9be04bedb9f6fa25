"""Support coordination's rules for drafting, free of I/O.

Every identified need joins its provider's open support case (paras 32-33) with a draft package
of its own that the ICS and the region shape and agree (``lifecycle``). The draft sets out what
the "new deal" needs agreeing (Kerr 1.6): a shared view of the problem, a plan drawing on the
offers catalogue (paras 34-35), exit criteria and review dates. KPIs and their trajectories are the
teams' to set: a draft does not guess targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID, uuid5

from oversight_contracts import (
    AnySupportNeedIdentified,
    SupportNeedIdentifiedV2,
    SupportPackageProposedV2,
    SupportPackageProposedV2Data,
    Theme,
)
from oversight_runtime.reference import Provider
from oversight_support_coordination.catalogue import Offer, OfferedBy, OffersCatalogue, offers_for
from oversight_support_coordination.lifecycle import ExitCriterion, PackagePlan, PlanItem

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
    """By default the package is done when the triggers behind its needs have cleared (seed 001:
    a clear pathway out; seed 002: exit criteria)."""
    theme = need.data.theme.value.replace("_", " ")
    return tuple(
        ExitCriterion(f"The {code.replace('_', ' ')} trigger under {theme} has cleared", (code,))
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
