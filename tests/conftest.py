"""Session fixtures for the real parts: a Kafka broker, a PostgreSQL server and an OpenID Connect
provider.

All are started by the project's deploy scripts. If one cannot start, every test that needs it
errors: nothing here skips.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from oversight_runtime.reference import SHIPPED_REGISTRY
from tests.support.identity import RunningIssuer, start_issuer
from tests.support.infra import load_deploy_module
from tests.support.platform import RunningPlatform, start_platform
from tests.support.receivers import Inbox, smtp_server

_database_names = itertools.count()


def _broker(data_dir: Path) -> Generator[str, None, None]:
    broker_module = load_deploy_module("deploy/kafka/broker.py")
    broker = broker_module.KafkaBroker()
    broker.start(data_dir=data_dir)
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Apache Kafka broker (KRaft, single node) on loopback."""
    yield from _broker(tmp_path_factory.mktemp("kafka"))


@pytest.fixture(scope="session")
def scored_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second real broker for the platform run under another framework pack.

    Topic names and consumer groups do not depend on the pack, so two platforms on one broker
    would share (and split) each other's events.
    """
    yield from _broker(tmp_path_factory.mktemp("kafka-scored"))


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real PostgreSQL server of our own on a free loopback port."""
    pg_module = load_deploy_module("deploy/postgres/pg.py")
    server = pg_module.PostgresServer()
    server.start()  # its own temp dir: pytest's are private to root and the server runs unprivileged
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def new_database(postgres: object) -> Callable[[str], str]:
    """Make a fresh, empty PostgreSQL database and return its async SQLAlchemy URL."""

    def make(prefix: str) -> str:
        name = f"{prefix}_{os.getpid()}_{next(_database_names)}"
        postgres.create_database(name)  # type: ignore[attr-defined]
        url: str = postgres.url(name)  # type: ignore[attr-defined]
        return url

    return make


@pytest.fixture(scope="session")
def oidc() -> Iterator[RunningIssuer]:
    """The local OpenID Connect provider with the demo users (deploy/oidc), on a free port."""
    running = start_issuer()
    try:
        yield running
    finally:
        running.process.stop()


@pytest.fixture(scope="session")
def smtp() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) that keeps every message notification sends it."""
    with smtp_server() as inbox:
        yield inbox


def notification_settings(inbox: Inbox) -> dict[str, str]:
    """Notification sends email to ``inbox`` and goes through its jobs often, with short retries."""
    return {
        "OVERSIGHT_NOTIFICATION_SMTP_PORT": str(inbox.port),
        "OVERSIGHT_NOTIFICATION_SMTP_STARTTLS": "false",
        "OVERSIGHT_NOTIFICATION_DISPATCH_SECONDS": "0.5",
        "OVERSIGHT_NOTIFICATION_DELIVERY_BASE_DELAY_SECONDS": "0.05",
        "OVERSIGHT_NOTIFICATION_DELIVERY_MAX_DELAY_SECONDS": "0.5",
    }


@pytest.fixture(scope="session")
def platform(
    kafka: str,
    oidc: RunningIssuer,
    smtp: Inbox,
    new_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPlatform]:
    """All five services, each its own process with its own PostgreSQL database; notification
    sends email to the session's SMTP server."""
    workdir: Path = tmp_path_factory.mktemp("platform")
    running = start_platform(
        kafka,
        new_database,
        workdir,
        settings={"OVERSIGHT_AUTH_ISSUER": oidc.issuer},
        per_service={"notification": notification_settings(smtp)},
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def scored_platform(
    scored_kafka: str,
    oidc: RunningIssuer,
    new_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPlatform]:
    """ingest, metrics and segmentation with the 2025/26 scored pack as the active framework."""
    running = start_platform(
        scored_kafka,
        new_database,
        tmp_path_factory.mktemp("scored-platform"),
        only=("ingest", "metrics", "segmentation"),
        settings={"OVERSIGHT_FRAMEWORK": "nof-2025", "OVERSIGHT_AUTH_ISSUER": oidc.issuer},
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def fuzz_platform(
    oidc: RunningIssuer, new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPlatform]:
    """All five services on a broker and databases of their own, for the schema fuzz only.

    The fuzz writes hundreds of reports, returns, views and decisions about real providers: on
    the shared platform they would change what other tests read and queue work ahead of them.
    Stopped when the fuzz module ends, backlog and all.
    """
    broker = _broker(tmp_path_factory.mktemp("kafka-fuzz"))
    bootstrap = next(broker)
    try:
        running = start_platform(
            bootstrap,
            new_database,
            tmp_path_factory.mktemp("fuzz-platform"),
            settings={"OVERSIGHT_AUTH_ISSUER": oidc.issuer},
        )
        try:
            yield running
        finally:
            running.stop()
    finally:
        broker.close()


@dataclass
class FaultPlatform:
    """A platform whose broker and databases the fault tests may break and mend."""

    platform: RunningPlatform
    broker: Any  # deploy/kafka/broker.py's KafkaBroker, to stop and start again
    postgres: Any  # deploy/postgres/pg.py's PostgresServer, to make a database read-only
    reference_data: Path  # the registry without RAX, which segmentation starts with


@pytest.fixture(scope="module")
def fault_platform(
    oidc: RunningIssuer,
    postgres: object,
    new_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultPlatform]:
    """All five services on a broker and databases of their own, with short timeouts.

    The relays' producers give up on a send after 3 s (so a 10 s broker outage expires batches,
    the failure that wedged producers after 40 s with the default timeout); notification reports
    itself unready after 5 s stalled; segmentation starts with a registry that lacks RAX.
    """
    workdir = tmp_path_factory.mktemp("fault-platform")
    registry = yaml.safe_load(SHIPPED_REGISTRY.read_text("utf-8"))
    registry["providers"] = [p for p in registry["providers"] if p["ods_code"] != "RAX"]
    reference_data = workdir / "organisations-without-rax.yaml"
    reference_data.write_text(yaml.safe_dump(registry))
    broker = load_deploy_module("deploy/kafka/broker.py").KafkaBroker()
    broker.start(data_dir=tmp_path_factory.mktemp("kafka-faults"))
    try:
        running = start_platform(
            broker.bootstrap_servers,
            new_database,
            workdir,
            settings={
                "OVERSIGHT_AUTH_ISSUER": oidc.issuer,
                "OVERSIGHT_KAFKA_REQUEST_TIMEOUT_MS": os.environ.get(
                    "OVERSIGHT_TEST_PRODUCER_TIMEOUT_MS", "3000"
                ),
            },
            per_service={
                "notification": {"OVERSIGHT_UNREADY_AFTER_SECONDS": "5"},
                "segmentation": {"OVERSIGHT_REFERENCE_DATA": str(reference_data)},
            },
        )
        try:
            yield FaultPlatform(running, broker, postgres, reference_data)
        finally:
            running.stop()
    finally:
        broker.stop()
