"""The unit of work handed to API routes and event handlers: one transaction, plus the outbox.

A unit of work may hold a whole batch of events (see ``consumer``). Handlers then ask for work
that depends only on a provider's state after the batch, such as re-evaluating it, with
``once``: it runs once per key, after the batch's last event, inside the same transaction.
``cache`` keeps what such work reads (a provider's series) for the length of the unit of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from oversight_contracts import Envelope
from oversight_contracts.frameworks import FrameworkPack
from oversight_runtime.outbox import stage
from oversight_runtime.reference import OrganisationRegistry

Work = Callable[[], Awaitable[None]]


@dataclass
class UnitOfWork:
    session: AsyncSession
    registry: OrganisationRegistry
    framework: FrameworkPack
    #: The service name, used as every event's ``source``.
    source: str
    staged: list[Envelope[Any]] = field(default_factory=list)
    #: Work asked for with ``once``, by key, in the order first asked.
    deferred: dict[Hashable, Work] = field(default_factory=dict)
    #: What this unit of work has read and may read again (e.g. a provider's history).
    cache: dict[Hashable, Any] = field(default_factory=dict)
    #: Called after the transaction commits (e.g. to wake live streams); never on a rollback.
    committed: list[Callable[[], None]] = field(default_factory=list)

    def publish(self, event: Envelope[Any]) -> None:
        """Publish an event if, and only if, this unit of work commits."""
        stage(self.session, event)
        self.staged.append(event)

    def once(self, key: Hashable, work: Work) -> None:
        """Run ``work`` before the commit, once for ``key`` however many events ask; the last
        ask's ``work`` is the one run (it carries the latest cause)."""
        self.deferred[key] = work

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the transaction has committed."""
        if callback not in self.committed:
            self.committed.append(callback)

    async def run_deferred(self) -> None:
        """Run the work asked for with ``once``; work may ask for more, which runs too."""
        while self.deferred:
            key = next(iter(self.deferred))
            work = self.deferred.pop(key)
            await work()
