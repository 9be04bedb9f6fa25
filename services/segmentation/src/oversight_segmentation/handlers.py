"""Segmentation's event handlers."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlmodel import select

from oversight_contracts import TriggerRaised
from oversight_runtime.handlers import EventHandlers
from oversight_runtime.unit_of_work import UnitOfWork
from oversight_segmentation import domain
from oversight_segmentation.storage import NeedTrigger, SupportNeed

handlers = EventHandlers()


@handlers.on(TriggerRaised)
async def record_trigger(uow: UnitOfWork, event: TriggerRaised) -> None:
    """Count a trigger towards the provider's support need under its theme."""
    uow.registry.provider(event.data.provider)
    open_need = (
        await uow.session.exec(
            select(SupportNeed).where(
                SupportNeed.provider == event.data.provider,
                SupportNeed.theme == event.data.theme.value,
                SupportNeed.status == "open",
            )
        )
    ).first()
    now = datetime.now(UTC)
    decision = domain.assess_trigger(event, open_need.id if open_need else None, new_need_id=uuid4(), now=now)
    if decision.identified is not None:
        uow.session.add(
            SupportNeed(
                id=decision.need_id,
                provider=event.data.provider,
                theme=event.data.theme.value,
                reason=decision.identified.data.reason,
                identified_at=now,
            )
        )
        await uow.session.flush()
        uow.publish(decision.identified)
    uow.session.add(
        NeedTrigger(
            trigger_id=event.data.trigger_id,
            need_id=decision.need_id,
            code=event.data.code,
            evidence=event.data.evidence,
            framework_paragraph=event.data.framework_paragraph,
            raised_at=event.data.raised_at,
        )
    )
