"""Readiness that tells the truth: can this service take work and pass it on?

Ready means the database takes writes (a probe insert, rolled back), the outbox relay has not been
unable to publish for longer than ``unready_after_seconds``, and no consumer has been stalled on a
transient failure for longer than that. A broker outage alone does not make a service unready:
its API keeps accepting writes into the outbox, which the relay sends once the broker is back; the
broker's state is reported beside the checks, and a long outage shows as the relay failing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import insert

from oversight_runtime.database import Database
from oversight_runtime.dead_letters import DeadLetterPolicy
from oversight_runtime.outbox import OutboxRelay
from oversight_runtime.storage import ProcessedEvent

OK = "ok"


@dataclass
class Readiness:
    database: Database
    relay: OutboxRelay
    dead_letters: DeadLetterPolicy
    broker_ping: Callable[[], Awaitable[bool]]
    unready_after_seconds: float

    async def check(self) -> tuple[bool, dict[str, str]]:
        checks = {
            "database": await self._database(),
            "outbox relay": self._relay(),
            "consumers": self._consumers(),
        }
        ready = all(value == OK for value in checks.values())
        checks["broker"] = OK if await self.broker_ping() else "unreachable: new events wait in the outbox"
        return ready, checks

    async def _database(self) -> str:
        """A write, rolled back: a database that answers reads but cannot write is not ready."""
        probe = insert(ProcessedEvent).values(
            event_id=uuid4(), handler="readiness-probe", event_type="probe", processed_at=datetime.now(UTC)
        )
        try:
            async with self.database.engine.connect() as connection:
                transaction = await connection.begin()
                try:
                    await connection.execute(probe)
                finally:
                    await transaction.rollback()
        except Exception as error:
            return f"unwritable: {type(error).__name__}: {error}"[:300]
        return OK

    def _relay(self) -> str:
        failing = self.relay.failing_for()
        if failing is None or failing < self.unready_after_seconds:
            return OK
        return f"unable to publish for {failing:.0f}s: {self.relay.last_error}"[:300]

    def _consumers(self) -> str:
        now = time.monotonic()
        stalled = [
            f"{topic} for {now - since:.0f}s ({why})"
            for topic, (since, why) in sorted(self.dead_letters.stalled.items())
            if now - since >= self.unready_after_seconds
        ]
        return OK if not stalled else "stalled: " + "; ".join(stalled)
