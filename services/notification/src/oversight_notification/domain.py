"""Notification's routing rules, free of I/O.

An alert about a provider goes to every ICB the provider belongs to and to its NHS England
region, so both sides of the "single conversation" (para 4) see the same thing at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from oversight_contracts import SupportPackageProposed


@dataclass(frozen=True)
class AlertDraft:
    kind: str
    title: str
    body: str
    audiences: tuple[str, ...]


def route_package_proposal(event: SupportPackageProposed) -> AlertDraft:
    data = event.data
    theme = data.theme.value.replace("_", " ")
    return AlertDraft(
        kind="support_package.proposed",
        title=f"{data.provider_name} ({data.provider}): draft support package under {theme}",
        body=data.summary,
        audiences=tuple(dict.fromkeys((*data.icbs, data.region))),
    )
