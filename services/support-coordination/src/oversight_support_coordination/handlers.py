"""Support coordination's event handlers."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlmodel import select

from oversight_contracts import AnySupportNeedIdentified, SupportNeedIdentified, SupportNeedIdentifiedV2
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_support_coordination import domain
from oversight_support_coordination.storage import PackageTimelineEntry, SupportPackage

handlers = EventHandlers()


@handlers.on(SupportNeedIdentified, SupportNeedIdentifiedV2)
async def open_draft_package(uow: UnitOfWork, event: AnySupportNeedIdentified) -> None:
    """Open a draft support package for a newly identified need."""
    provider = uow.registry.provider(event.data.provider)
    opened: set[UUID] = uow.cache.setdefault("needs with a package", set())
    if event.data.need_id in opened:
        return
    with uow.session.no_autoflush:  # this batch's packages are in ``opened``: no flush per event
        existing = (
            await uow.session.exec(
                select(SupportPackage.id).where(SupportPackage.need_id == event.data.need_id).limit(1)
            )
        ).first()
    opened.add(event.data.need_id)
    if existing is not None:  # one package per need, whatever the delivery history
        return
    now = datetime.now(UTC)
    proposal = domain.propose_package(event, provider, package_id=uuid4(), now=now)
    data = proposal.data
    uow.session.add(
        SupportPackage(
            id=data.package_id,
            need_id=data.need_id,
            provider=data.provider,
            theme=data.theme.value,
            status=data.status,
            icbs=list(data.icbs),
            region=data.region,
            summary=data.summary,
            created_at=now,
        )
    )
    # Written with the batch's other rows after the packages (it refers to one).
    uow.insert_later(
        PackageTimelineEntry,
        {
            "package_id": data.package_id,
            "kind": "proposed",
            "detail": f"Draft opened for need {data.need_id}",
            "at": now,
        },
    )
    uow.publish(proposal)
