"""Notification's routing rules, free of I/O.

An alert about a provider goes to every ICB the provider belongs to and to its NHS England
region, so both sides of the "single conversation" (para 4) see the same thing at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from oversight_contracts import AnySupportPackageProposed
from oversight_runtime.reference import Provider


@dataclass(frozen=True)
class AlertDraft:
    kind: str
    title: str
    body: str
    audiences: tuple[str, ...]


def route_package_proposal(event: AnySupportPackageProposed, provider: Provider) -> AlertDraft:
    """Addressed from the organisation registry, never from what the event says: an event naming
    other ICBs or another region (by mistake or not) cannot show an alert to them."""
    theme = event.data.theme.value.replace("_", " ")
    return AlertDraft(
        kind="support_package.proposed",
        title=f"{provider.name} ({provider.ods_code}): draft support package under {theme}",
        body=event.data.summary,
        audiences=tuple(dict.fromkeys((*provider.icbs, provider.region))),
    )
