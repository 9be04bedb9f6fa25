"""Notification's event handlers."""

from __future__ import annotations

from uuid import uuid4

from oversight_contracts import AnySupportPackageProposed, SupportPackageProposed, SupportPackageProposedV2
from oversight_notification import domain
from oversight_notification.storage import Alert, AlertAudience
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.unit_of_work import UnitOfWork

handlers = EventHandlers()


@handlers.on(SupportPackageProposed, SupportPackageProposedV2)
async def alert_package_proposed(uow: UnitOfWork, event: AnySupportPackageProposed) -> None:
    """Alert the provider's ICBs and region that a draft support package awaits them."""
    provider = uow.registry.provider(event.data.provider)
    draft = domain.route_package_proposal(event, provider)
    alert = Alert(
        alert_id=uuid4(),
        provider=provider.ods_code,
        provider_name=provider.name,
        kind=draft.kind,
        title=draft.title,
        body=draft.body,
        source_event_id=event.id,
        correlation_id=event.correlation_id,
        audiences=[AlertAudience(organisation=organisation) for organisation in draft.audiences],
    )
    uow.session.add(alert)  # with its audiences: the batch's alerts are written together
    uow.changed("alerts")  # live streams wake once this commits, in every replica
