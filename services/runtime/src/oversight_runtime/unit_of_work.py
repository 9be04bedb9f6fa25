"""The unit of work handed to API routes and event handlers: one transaction, plus the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from oversight_contracts import Envelope
from oversight_contracts.frameworks import FrameworkPack
from oversight_runtime.outbox import stage
from oversight_runtime.reference import OrganisationRegistry


@dataclass
class UnitOfWork:
    session: AsyncSession
    registry: OrganisationRegistry
    framework: FrameworkPack
    #: The service name, used as every event's ``source``.
    source: str
    staged: list[Envelope[Any]] = field(default_factory=list)

    def publish(self, event: Envelope[Any]) -> None:
        """Publish an event if, and only if, this unit of work commits."""
        stage(self.session, event)
        self.staged.append(event)
