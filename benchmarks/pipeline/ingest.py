"""(e) Ingest's write path alone: single returns, then bulk requests where the route exists."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx

from oversight_runtime.launcher import ServiceProcess
from pipeline.report import percentiles
from pipeline.stack import Stack, check_alive, log
from pipeline.workload import Workload, submitter


async def _closed_loop(
    client: httpx.AsyncClient,
    stack: Stack,
    url: str,
    requests: Iterator[tuple[str, Any, int]],
    clients: int,
    seconds: float,
) -> dict[str, Any]:
    """``clients`` workers, each sending its next request as soon as the last is answered,
    for ``seconds`` or until ``requests`` (provider, JSON body, observations in it) runs out:
    every (provider, period) is sent once, as ingest may one day refuse a duplicate."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    observations = accepted = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal observations, accepted
        while time.perf_counter() < deadline and (request := next(requests, None)) is not None:
            provider, body, size = request
            headers = {**stack.headers(submitter(provider)), "Idempotency-Key": str(uuid4())}
            sent = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=headers)
                statuses[str(response.status_code)] += 1
                if response.is_success:
                    accepted += 1
                    observations += size
                elif len(statuses) < 10 and statuses[str(response.status_code)] == 1:
                    log(f"ingest: {response.status_code} {response.text[:300]}")
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1
            latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "ran_out": time.perf_counter() < deadline,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "accepted": accepted,
        "requests_per_second": accepted / elapsed,
        "observations_per_second": observations / elapsed,
        "statuses": dict(statuses),
        "request": percentiles(latencies),
    }


def _brief(result: dict[str, Any]) -> str:
    request = result["request"]
    return (
        f"{result['requests_per_second']:,.1f} requests/s, {result['observations_per_second']:,.0f} "
        f"observations/s, p50 {request['p50_ms']} ms, p99 {request['p99_ms']} ms, statuses {result['statuses']}"
    )


async def _warm_up(client: httpx.AsyncClient, stack: Stack, ingest: ServiceProcess, provider: str) -> None:
    """One read before the clock: the first request a service verifies fetches the JWKS."""
    await client.get(f"{ingest.url}/v1/submissions/{uuid4()}", headers=stack.headers(submitter(provider)))


async def _start_ingest(stack: Stack, name: str) -> ServiceProcess:
    process = stack.service("ingest", stack.fresh_dir(name))
    process.start()
    process.wait_ready()
    return process


async def ingest_writes(stack: Stack, workload: Workload, options: Any) -> dict[str, Any]:
    """(e) Ingest alone on a fresh data directory: single returns from ``ingest_clients``
    concurrent clients; then, if the OpenAPI document has ``POST /v1/submissions/bulk``, a fresh
    ingest again for requests of ``bulk_size`` returns of one trust (a trust's submitter may send
    its own trust's returns only)."""
    result: dict[str, Any] = {}
    returns = workload.interleaved()
    limits = httpx.Limits(max_connections=max(options.ingest_clients, options.bulk_clients) + 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        ingest = await _start_ingest(stack, "ingest-single")
        await _warm_up(client, stack, ingest, returns[0].provider)
        singles = iter([(r.provider, r.body(), len(r.observations)) for r in returns])
        log(f"ingest: single returns, {options.ingest_clients} clients for {options.ingest_seconds:g} s")
        result["single"] = await _closed_loop(
            client,
            stack,
            f"{ingest.url}/v1/submissions",
            singles,
            options.ingest_clients,
            options.ingest_seconds,
        )
        check_alive(ingest)
        log(f"ingest single: {_brief(result['single'])}")
        paths = (await client.get(f"{ingest.url}/openapi.json")).json().get("paths", {})
        stack.stop_services()
        if "post" not in paths.get("/v1/submissions/bulk", {}):
            result["bulk"] = {"skipped": "POST /v1/submissions/bulk is not in ingest's OpenAPI document yet"}
            log(f"ingest bulk: {result['bulk']['skipped']}")
            return result
        ingest = await _start_ingest(stack, "ingest-bulk")
        await _warm_up(client, stack, ingest, returns[0].provider)
        bulk_url = f"{ingest.url}/v1/submissions/bulk"
        per_provider = [
            [
                (provider, [r.body() for r in chunk], sum(len(r.observations) for r in chunk))
                for i in range(0, len(items), options.bulk_size)
                if len(chunk := items[i : i + options.bulk_size]) == options.bulk_size
                or len(items) < options.bulk_size
            ]
            for provider, items in workload.returns.items()
        ]
        # Round the trusts, as a national import would; only full requests.
        chunks = [c for row in itertools.zip_longest(*per_provider) for c in row if c is not None]
        log(
            f"ingest: bulk requests of {options.bulk_size} returns, {options.bulk_clients} clients "
            f"for {options.ingest_seconds:g} s"
        )
        result["bulk"] = await _closed_loop(
            client, stack, bulk_url, iter(chunks), options.bulk_clients, options.ingest_seconds
        )
        check_alive(ingest)
        result["bulk"]["returns_per_request"] = options.bulk_size
        log(f"ingest bulk: {_brief(result['bulk'])}")
    stack.stop_services()
    return result
