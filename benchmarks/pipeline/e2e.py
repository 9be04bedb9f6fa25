"""(c) Report to alert with all five services: idle, under a steady load of returns, and the
time to no backlog once the load stops.

The services start with a fresh data directory, every consumer group moved to the end of its
topics first, so nothing an earlier measure left on the broker is work for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import uuid4

import httpx
from httpx_sse import aconnect_sse

from oversight_contracts import ExceptionReportReceivedV2, SubmissionReceivedV2
from oversight_runtime.platform import SERVICES
from pipeline.report import percentiles
from pipeline.stack import (
    READER,
    Offsets,
    Stack,
    check_alive,
    consumed_topics,
    group_of,
    log,
)
from pipeline.workload import Return, Workload, category_for_theme, cycle, submitter

CONSUMERS = ("metrics", "segmentation", "support-coordination", "notification")
#: How often the stream's arrivals are checked for a sample's alert.
POLL = 0.05


async def _skip_every_group(offsets: Offsets, services: Sequence[str]) -> None:
    """Every group to the end of its topics (see the module's docstring)."""
    for service in services:
        await offsets.skip_to_end(group_of(service), consumed_topics(service))


class AlertStream:
    """Notification's live stream as a client reads it: when each alert arrived, by correlation id.

    A report now alerts at each step that needs a person; ``arrivals`` keeps the end of the chain
    (the drafted package's alert: report → trigger → need → package → alert, as measured since
    issue 10), ``report_arrivals`` the report's own alert (ingest's event straight to notification:
    issue 12's alert latency)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.arrivals: dict[str, float] = {}
        self.report_arrivals: dict[str, float] = {}
        self.connected = asyncio.Event()

    async def run(self) -> None:
        timeout = httpx.Timeout(10, read=None)
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            aconnect_sse(client, "GET", f"{self.url}/v1/alerts/stream", headers=self.headers) as source,
        ):
            source.response.raise_for_status()
            self.connected.set()
            async for message in source.aiter_sse():
                if message.event == "alert":
                    alert, now = json.loads(message.data), time.perf_counter()
                    kept = {
                        "support_package.proposed": self.arrivals,
                        "exception_report.received": self.report_arrivals,
                    }
                    if (arrivals := kept.get(alert["kind"])) is not None:
                        arrivals.setdefault(alert["correlation_id"], now)


class Samples:
    """Exception reports sent at ingest, each for a (provider, theme) with no open need, so each
    makes exactly one new need, one draft package and one alert."""

    def __init__(self, stack: Stack, workload: Workload, providers: Sequence[str], ingest: str) -> None:
        themes = category_for_theme(workload.pack)
        self.pairs = iter([(p, theme, category) for p in providers for theme, category in themes.items()])
        self.stack = stack
        self.url = f"{ingest}/v1/exception-reports"
        self.sent: dict[str, float] = {}
        self.failed: Counter[str] = Counter()

    async def send(self, client: httpx.AsyncClient) -> str | None:
        """Send one; its correlation id, or None when no fresh pair is left or ingest refused."""
        pair = next(self.pairs, None)
        if pair is None:
            self.failed["no fresh (provider, theme) left"] += 1
            return None
        provider, _theme, category = pair
        body = {
            "provider": provider,
            "category": category.value,
            "summary": f"Benchmark sample: {category.value.replace('_', ' ')}",
            "occurred_on": time.strftime("%Y-%m-%d", time.gmtime()),
        }
        headers = {**self.stack.headers(submitter(provider)), "Idempotency-Key": str(uuid4())}
        started = time.perf_counter()
        try:
            response = await client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as error:
            self.failed[type(error).__name__] += 1
            return None
        if response.status_code != 202:
            self.failed[f"HTTP {response.status_code}"] += 1
            return None
        correlation: str = response.json()["correlation_id"]
        self.sent[correlation] = started
        return correlation


def _latencies(
    ids: Sequence[str], samples: Samples, stream: AlertStream, *, report: bool = False
) -> dict[str, Any]:
    arrivals = stream.report_arrivals if report else stream.arrivals
    arrived = [arrivals[i] - samples.sent[i] for i in ids if i in arrivals]
    return {**percentiles(arrived), "sent": len(ids), "missing": len(ids) - len(arrived)}


async def _await_alerts(ids: Sequence[str], stream: AlertStream, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and any(i not in stream.arrivals for i in ids):
        await asyncio.sleep(POLL)


async def _steady_returns(
    stack: Stack,
    client: httpx.AsyncClient,
    url: str,
    returns: Iterator[Return],
    per_second: float,
    seconds: float,
    max_in_flight: int,
) -> dict[str, Any]:
    """Returns sent at a steady rate (open loop: on schedule, whatever the answers' pace) with
    at most ``max_in_flight`` awaiting an answer; the achieved rate says if ingest kept up."""
    in_flight = asyncio.Semaphore(max_in_flight)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    observations = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(item: Return) -> None:
        nonlocal observations
        headers = {**stack.headers(submitter(item.provider)), "Idempotency-Key": str(uuid4())}
        sent = time.perf_counter()
        try:
            response = await client.post(url, json=item.body(), headers=headers)
            statuses[str(response.status_code)] += 1
            if response.status_code == 202:
                observations += len(item.observations)
        except httpx.HTTPError as error:
            statuses[type(error).__name__] += 1
        finally:
            latencies.append(time.perf_counter() - sent)
            in_flight.release()

    started = time.perf_counter()
    count = 0
    while (due := started + count / per_second) < started + seconds:
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        await in_flight.acquire()
        task = asyncio.create_task(one(next(returns)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        count += 1
    stopped = time.perf_counter()
    sending = stopped - started
    await asyncio.gather(*tasks)
    return {
        "stopped_at": stopped,
        "sent": count,
        "accepted": statuses["202"],
        "seconds": round(sending, 2),
        "returns_per_second": count / sending,
        "observations_per_second": observations / sending,
        "statuses": dict(statuses),
        "request": percentiles(latencies),
    }


async def _no_backlog_after(
    offsets: Offsets, started: float, relayed_at_least: int, ingest_topics: list[str], timeout: float
) -> float | None:
    """Seconds from ``started`` (the last request of the load) until ingest has published every
    accepted request and every group's lag is 0, twice in a row with no topic moving in between
    (so an outbox relay about to publish is not missed); None if not within ``timeout``."""
    groups = {s: await offsets.partitions(consumed_topics(s)) for s in CONSUMERS}
    every = sorted({tp for parts in groups.values() for tp in parts}, key=str)
    quiet_at: float | None = None
    previous: dict[Any, int] | None = None
    while time.perf_counter() - started < timeout:
        now = time.perf_counter()
        ends = await offsets.ends(every)
        lag = 0
        for service, parts in groups.items():
            lag += await offsets.lag(group_of(service), parts)
        if lag == 0 and await offsets.total(ingest_topics) >= relayed_at_least:
            if quiet_at is None or ends != previous:
                quiet_at = now
            else:
                return quiet_at - started
        else:
            quiet_at = None
        previous = ends
        await asyncio.sleep(0.2)
    return None


async def end_to_end(stack: Stack, workload: Workload, options: Any) -> dict[str, Any]:
    """(c) All five services; exception report at ingest to alert on notification's stream,
    idle and under a steady load of returns, then the time to no backlog once the load stops.

    Samples use providers of their own (five fresh themes each), the load the others: a return
    can raise a trigger and so open a need, after which a sample under that theme would make no
    alert.
    """
    themes = len(category_for_theme(workload.pack))
    wanted = options.idle_samples + math.ceil(options.load_seconds / options.load_sample_interval)
    reserved = min(len(workload.providers) - 4, math.ceil(wanted / themes))
    sample_providers, load_providers = workload.providers[:reserved], workload.providers[reserved:]
    async with Offsets(stack.bootstrap) as offsets:
        await _skip_every_group(offsets, CONSUMERS)
    data_dir = stack.fresh_dir("e2e")
    processes = {spec.name: stack.service(spec.name, data_dir) for spec in SERVICES}
    started = time.perf_counter()
    for process in processes.values():
        process.start()
    for process in processes.values():
        process.wait_ready()
    log(f"e2e: five services ready in {time.perf_counter() - started:.1f} s")
    ingest = processes["ingest"].url
    samples = Samples(stack, workload, sample_providers, ingest)
    stream = AlertStream(processes["notification"].url, stack.headers(READER))
    reader = asyncio.create_task(stream.run())
    limits = httpx.Limits(max_connections=options.load_clients + 4)
    try:
        async with (
            httpx.AsyncClient(timeout=30, limits=limits) as client,
            Offsets(stack.bootstrap) as offsets,
        ):
            await asyncio.wait_for(stream.connected.wait(), timeout=30)
            idle_ids: list[str] = []
            for _ in range(options.idle_samples):
                if (sent := await samples.send(client)) is not None:
                    idle_ids.append(sent)
                await asyncio.sleep(options.idle_interval)
            await _await_alerts(idle_ids, stream, options.alert_timeout)
            for process in processes.values():
                check_alive(process)
            idle = _latencies(idle_ids, samples, stream)
            log(f"e2e idle: {idle}")
            report_idle = _latencies(idle_ids, samples, stream, report=True)
            log(f"e2e idle, the report's own alert: {report_idle}")

            rate = options.load_obs_rate / workload.observations_per_return
            ingest_topics = [SubmissionReceivedV2.topic(), ExceptionReportReceivedV2.topic()]
            published_before = await offsets.total(ingest_topics)
            log(
                f"e2e load: {rate:.1f} returns/s ({options.load_obs_rate:g} observations/s) for "
                f"{options.load_seconds:g} s over {len(load_providers)} trusts, a sample every "
                f"{options.load_sample_interval:g} s over {len(sample_providers)} others"
            )
            # Each (trust, month) once unless the load outlasts them (then they are resubmissions).
            returns = cycle(workload.interleaved(load_providers))
            load = asyncio.create_task(
                _steady_returns(
                    stack,
                    client,
                    f"{ingest}/v1/submissions",
                    returns,
                    rate,
                    options.load_seconds,
                    options.load_clients,
                )
            )
            load_ids: list[str] = []
            max_lag = 0
            while not load.done():
                if (sent := await samples.send(client)) is not None:
                    load_ids.append(sent)
                lag = 0
                for service in CONSUMERS:
                    lag += await offsets.lag(
                        group_of(service), await offsets.partitions(consumed_topics(service))
                    )
                max_lag = max(max_lag, lag)
                await asyncio.wait([load], timeout=options.load_sample_interval)
            sent_load = load.result()
            for process in processes.values():
                check_alive(process)
            log(
                f"e2e load: sent {sent_load['sent']} returns, {sent_load['accepted']} accepted; waiting for no backlog"
            )
            expected = published_before + sent_load["accepted"] + len(load_ids)
            backlog = await _no_backlog_after(
                offsets, sent_load.pop("stopped_at"), expected, ingest_topics, options.backlog_timeout
            )
            await _await_alerts(load_ids, stream, options.alert_timeout)
            under_load = _latencies(load_ids, samples, stream)
            log(f"e2e under load: {under_load}; no backlog after {backlog} s")
            for process in processes.values():  # a figure from a crashed platform is no figure
                check_alive(process)
            if reader.done() and reader.exception() is not None:
                raise RuntimeError(f"the alert stream failed: {reader.exception()!r}")
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await reader
        stack.stop_services()
    return {
        "idle": idle,
        "report_alert_idle": report_idle,
        "load": {**under_load, "returns": sent_load, "max_total_lag": max_lag},
        "no_backlog_after_s": round(backlog, 2) if backlog is not None else None,
        "backlog_timeout_s": options.backlog_timeout,
        "sample_failures": dict(samples.failed),
        "sample_providers": len(sample_providers),
        "load_providers": len(load_providers),
    }


# --- (e) ingest's write path ------------------------------------------------------------------
