"""Support coordination's rules, free of I/O.

Every identified need opens a draft package addressed to the provider's ICBs and region, who
agree it together (paras 32-35). The draft sets out what the "new deal" needs agreeing (Kerr
1.6): a shared view of the problem, a plan, a trajectory, exit criteria and named support.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from oversight_contracts import (
    AnySupportNeedIdentified,
    SupportPackageProposedV2,
    SupportPackageProposedV2Data,
    Theme,
)
from oversight_runtime.reference import Provider

SOURCE = "support-coordination"

#: National support offers by theme (para 35), suggested in the draft for the teams to choose.
SUGGESTED_SUPPORT: dict[Theme, str] = {
    Theme.QUALITY_OF_CARE: "maternal and neonatal safety collaborative, GIRFT, regional quality support",
    Theme.FINANCE_AND_USE_OF_RESOURCES: "financial recovery support, Model Hospital, GIRFT",
    Theme.OPERATIONAL_PERFORMANCE: "Emergency Care Improvement Programme, elective and cancer support",
    Theme.STRATEGIC_CHANGE: "system partners' support through the ICS",
    Theme.LEADERSHIP_AND_IMPROVEMENT_CAPABILITY: "Culture and Leadership programme, leadership coaching",
}


def propose_package(
    need: AnySupportNeedIdentified, provider: Provider, *, package_id: UUID, now: datetime
) -> SupportPackageProposedV2:
    theme = need.data.theme
    summary = (
        f"Draft support package for {provider.name} ({provider.ods_code}) under "
        f"{theme.value.replace('_', ' ')}. To agree with ICB {', '.join(provider.icbs)} and region "
        f"{provider.region}: a shared view of the problem, a plan, a realistic trajectory, exit "
        f"criteria and named support. Suggested offers: {SUGGESTED_SUPPORT[theme]}. "
        f"Why: {need.data.reason}"
    )
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
            summary=summary,
            proposed_at=now,
        ),
    )
