"""Two notification replicas on one PostgreSQL database: a live stream served by one is woken by
an alert the other stores, at once (PostgreSQL NOTIFY at the commit), not at the stream's next
safety-net read 15 s later.

The replicas run on a broker of their own: in the shared platform's consumer group they would
take alerts from the platform's notification, and it theirs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import httpx_sse
import pytest

from oversight_contracts import SupportPackageProposed, Theme
from oversight_runtime.launcher import ServiceProcess, free_port
from oversight_runtime.reference import load_registry
from tests.conftest import _broker
from tests.support.events import package_proposed
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import produce
from tests.support.platform import RunningPlatform, start_platform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

REGISTRY = load_registry()
#: From the commit to the client: generous for a loaded machine, far below the 15 s safety net.
WAKE_WITHIN_SECONDS = 2.0


@pytest.fixture(scope="module")
def replicas(
    oidc: RunningIssuer, new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, ServiceProcess, ServiceProcess]]:
    """The broker's address and notification replicas A and B, sharing one database."""
    broker = _broker(tmp_path_factory.mktemp("kafka-replicas"))
    bootstrap = next(broker)
    workdir: Path = tmp_path_factory.mktemp("replicas")
    try:
        platform: RunningPlatform = start_platform(
            bootstrap,
            new_database,
            workdir,
            only=("notification",),
            settings={"OVERSIGHT_AUTH_ISSUER": oidc.issuer},
        )
        a = platform.services["notification"]
        b = ServiceProcess(
            spec=a.spec, port=free_port(), env=dict(a.env), log_path=workdir / "notification-b.log"
        )
        try:
            b.start()
            b.wait_ready()
            yield bootstrap, a, b
        finally:
            b.stop()
            platform.stop()
    finally:
        broker.close()


def _package(provider: str) -> SupportPackageProposed:
    return package_proposed(provider, Theme.QUALITY_OF_CARE, summary=f"replica test package for {provider}")


async def _alerts_stored(client: httpx.AsyncClient, replica: ServiceProcess) -> float:
    """How many events this replica's consumer has applied (each stores one alert)."""
    text = (await client.get(f"{replica.url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("oversight_events_handled_total{") and 'outcome="applied"' in line
    )


async def test_a_stream_on_one_replica_wakes_when_another_stores_an_alert(
    replicas: tuple[str, ServiceProcess, ServiceProcess], oidc: RunningIssuer
) -> None:
    bootstrap, a, b = replicas
    stored_by_a: list[float] = []  # how long each alert A stored took to reach B's stream
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=90)) as client,
        httpx_sse.aconnect_sse(
            client, "GET", f"{b.url}/v1/alerts/stream", headers=oidc.headers("national.viewer")
        ) as source,
    ):
        assert source.response.status_code == 200
        events = source.aiter_sse()
        # Both replicas consume (three partitions between them): send packages about one
        # provider after another until replica A has stored at least two of the alerts.
        for provider in [p.ods_code for p in REGISTRY.providers][:30]:
            before = await _alerts_stored(client, a)
            package = _package(provider)
            await produce(
                bootstrap,
                SupportPackageProposed.topic(),
                [(provider.encode(), package.model_dump_json().encode())],
            )
            sse = await asyncio.wait_for(anext(events), timeout=60)
            arrived = datetime.now(UTC)
            alert = json.loads(sse.data)
            assert alert["provider"] == provider and alert["body"] == package.data.summary
            waited = (arrived - datetime.fromisoformat(alert["created_at"])).total_seconds()
            assert waited < WAKE_WITHIN_SECONDS, f"{provider}'s alert took {waited:.1f}s to arrive"
            if await _alerts_stored(client, a) > before:
                stored_by_a.append(waited)
            if len(stored_by_a) >= 2:
                break
    assert len(stored_by_a) >= 2, "replica A never stored an alert: nothing crossed replicas"
