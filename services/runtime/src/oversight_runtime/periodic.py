"""Work a service does on a timer rather than because an event arrived.

A job runs in a unit of work like any handler, so what it publishes goes through the outbox; it
should only *publish* (e.g. "a review is due") and leave the effect to a handler, which then runs
in order with the provider's other events instead of racing them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from oversight_runtime.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


UnitsOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    #: Does one round of the job in one unit of work; returns how many things it did (for the log).
    run: Callable[[UnitOfWork], Awaitable[int]] | None = None
    #: Seconds between rounds; None: the service's ``periodic_job_seconds``.
    interval_seconds: float | None = None
    #: Instead of ``run``: a round that opens its own units of work, for work that must not hold
    #: a transaction open while it waits on the network (sending notifications).
    run_in_steps: Callable[[UnitsOfWork], Awaitable[int]] | None = None


Round = Callable[[], Awaitable[int]]


def in_unit_of_work(job: PeriodicJob, unit_of_work: UnitsOfWork) -> Round:
    """One round of ``job``: its work in one unit of work, committed together (or, for a job
    that runs in steps, its own units of work)."""
    run, steps = job.run, job.run_in_steps

    async def round_() -> int:
        if steps is not None:
            return await steps(unit_of_work)
        if run is None:
            raise ValueError(f"periodic job {job.name} has nothing to run")
        async with unit_of_work() as uow:
            return await run(uow)

    return round_


async def run_periodically(name: str, round_: Round, interval_seconds: float) -> None:
    """Run a round now and then every interval; a failed round is logged and tried next time."""
    while True:
        try:
            done = await round_()
            if done:
                log.info("periodic job %s did %d", name, done)
        except Exception:
            log.exception("periodic job %s failed; trying again in %ss", name, interval_seconds)
        await asyncio.sleep(interval_seconds)
