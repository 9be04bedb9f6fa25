"""(b) Each consuming service alone, draining a pre-loaded input topic.

A drain starts its service with a fresh data directory and first moves the service's consumer
group to the end of every topic it reads (``Offsets.skip_to_end``), so what an earlier measure
left on the broker (one drain's output is the next service's input) is never work for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import httpx

from oversight_contracts import Envelope
from oversight_runtime.launcher import ServiceProcess
from oversight_runtime.topics import ensure_topics
from pipeline.stack import (
    Offsets,
    Stack,
    check_alive,
    consumed_topics,
    dead_letter_topics,
    group_of,
    log,
    produce,
)

#: How often committed offsets are read (a drain's end is known to within this).
POLL = 0.05
#: The shortest window after the first commit that a drain's rate is taken over.
MIN_WINDOW = 2.0


async def _ready_after(process: ServiceProcess, started: float, timeout: float = 120) -> float | None:
    """Seconds from ``started`` until the service answers /readyz with 200 (None if never)."""
    async with httpx.AsyncClient(timeout=2) as client:
        while time.perf_counter() - started < timeout:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{process.url}/readyz")).status_code == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(0.2)
    return None


# --- (b) drains -------------------------------------------------------------------------------


async def drain(
    stack: Stack, service: str, events: Sequence[Envelope[Any]], timeout: float
) -> dict[str, Any]:
    """(b) Pre-load ``events`` on the service's input topic, start the service alone on a fresh
    data directory, and time its group from the first committed offset to lag 0.

    Start-up (process start to first commit, which includes the first batch) is reported
    apart; the rate is over the events committed after the first commit. Parked events (on the
    service's dead-letter topics) are counted: a drain that parks is not a drain.
    """
    topic = events[0].topic()
    group = group_of(service)
    bootstrap = stack.bootstrap
    await ensure_topics(bootstrap, [topic])
    async with Offsets(bootstrap) as offsets:
        await offsets.skip_to_end(group, consumed_topics(service))
        parked_before = await offsets.total(dead_letter_topics(service))
        partitions = await offsets.partitions([topic])
        start = await offsets.ends(partitions)
        await produce(bootstrap, ((topic, e.subject.encode(), e.model_dump_json().encode()) for e in events))
        end = await offsets.ends(partitions)
        total = sum(end.values()) - sum(start.values())
        log(f"drain {service}: {total} events on {topic}; starting {service} alone")
        process = stack.service(service, stack.fresh_dir(f"drain-{service}"))
        started = time.perf_counter()
        process.start()
        ready = asyncio.create_task(_ready_after(process, started))
        first: tuple[float, int] | None = None
        joined: float | None = None
        done, finished = 0, None
        next_report = started + 15
        try:
            while time.perf_counter() - started < timeout:
                committed = await offsets.committed(group, partitions)
                done = sum(min(committed[tp], end[tp]) - start[tp] for tp in partitions)
                now = time.perf_counter()
                if joined is None and (done > 0 or await offsets.joined(group)):
                    joined = now
                if done > 0 and first is None:
                    first = (now, done)
                if done >= total:
                    finished = now
                    break
                check_alive(process)
                if now > next_report:
                    log(f"drain {service}: {done} of {total} committed")
                    next_report += 15
                await asyncio.sleep(POLL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(ready), timeout=10)
            ready_seconds = ready.result() if ready.done() else None
        finally:
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
        last = finished or time.perf_counter()
        # A parked event reaches its dead-letter topic before its offset is committed.
        parked = await offsets.total(dead_letter_topics(service)) - parked_before
    stack.stop_services()
    # From the first commit, over the events committed after it. The services consume in
    # batches (500), so when the first commit took (nearly) every event, the window after it is
    # too short to time by polling; then from the group join instead, the first batch included.
    from_join = done / (last - joined) if joined is not None and last > joined and done else None
    rate, basis = from_join, "from the group join (the first batch took nearly every event)"
    if first is not None and last - first[0] >= MIN_WINDOW and done > first[1]:
        rate, basis = (done - first[1]) / (last - first[0]), "after the first commit"
    result = {
        "service": service,
        "topic": topic,
        "events": total,
        "committed": done,
        "complete": finished is not None,
        "startup_to_first_commit_s": round(first[0] - started, 2) if first else None,
        "ready_s": round(ready_seconds, 2) if ready_seconds is not None else None,
        "first_commit_events": first[1] if first else 0,
        "seconds": round(last - first[0], 2) if first else None,
        "per_second": rate,
        "rate_basis": basis,
        "per_second_from_join": from_join,
        "joined_s": round(joined - started, 2) if joined else None,
        "parked": parked,
    }
    log(
        f"drain {service}: {done} of {total} committed, {rate or 0:,.1f}/s {basis}; first commit "
        f"{result['startup_to_first_commit_s']} s after the start ({result['first_commit_events']} events), "
        f"parked {parked}"
    )
    return result
