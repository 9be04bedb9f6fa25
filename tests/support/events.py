"""Valid events for tests that feed consumers directly: a trigger and a draft package."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from oversight_contracts import (
    SupportPackageProposed,
    SupportPackageProposedData,
    Theme,
    TriggerRaised,
    TriggerRaisedData,
)
from oversight_runtime.reference import load_registry

REGISTRY = load_registry()


def trigger_raised(
    provider: str, *, evidence: str = "test trigger", subject: str | None = None
) -> TriggerRaised:
    """A material-concern trigger about ``provider``, keyed to ``subject`` (the provider if unset)."""
    return TriggerRaised.new(
        source="metrics",
        subject=subject or provider,
        data=TriggerRaisedData(
            trigger_id=uuid4(),
            provider=provider,
            code="material_concern",
            theme=Theme.STRATEGIC_CHANGE,
            evidence=evidence,
            source="test",
            framework_paragraph="para 24",
            raised_at=datetime.now(UTC),
        ),
    )


def package_proposed(provider: str, theme: Theme, *, summary: str = "test package") -> SupportPackageProposed:
    """A draft support package for a need of ``provider``, addressed as the registry says."""
    record = REGISTRY.provider(provider)
    return SupportPackageProposed.new(
        source="support-coordination",
        subject=provider,
        data=SupportPackageProposedData(
            package_id=uuid4(),
            need_id=uuid4(),
            provider=provider,
            provider_name=record.name,
            theme=theme,
            status="draft",
            icbs=list(record.icbs),
            region=record.region,
            summary=summary,
            proposed_at=datetime.now(UTC),
        ),
    )
