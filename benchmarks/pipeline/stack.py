"""What a run starts, and the Kafka reads the measures share.

Everything lives in one temp directory and on free ports: a run never touches the developer's
``var/`` data (only the cached broker and provider jars there) nor the ports of a running
``make run``. ``Stack.close`` stops every process started here; the caller runs it in a
``finally``, so an error or Ctrl-C leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from oversight_contracts import DEAD_LETTER_SUFFIX
from oversight_runtime.access import load_policy
from oversight_runtime.demo_identity import DemoUser, DemoUsers, issuer_config, new_signing_key
from oversight_runtime.launcher import ServiceProcess, free_port
from oversight_runtime.platform import SERVICES, ServiceSpec
from oversight_runtime.reference import OrganisationRegistry
from oversight_runtime.settings import AuthSettings, ServiceSettings
from oversight_runtime.topics import ensure_topics

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the tests' helpers, reused rather than copied
    sys.path.append(str(REPO))

from pipeline.workload import submitter  # noqa: E402
from tests.support.identity import RunningIssuer  # noqa: E402
from tests.support.infra import load_deploy_module  # noqa: E402

#: A message a service publishes carries these headers (``OversightService._publish_row``); the
#: events a run pre-loads carry them too, so the services read them exactly as their own.
CONTENT_TYPE = ("content-type", b"application/json")
READER = "bench.national"


STARTED = time.monotonic()


def log(message: str) -> None:
    """Progress, with the seconds since the run started (a long run should show it is alive)."""
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


def bench_users(registry: OrganisationRegistry) -> DemoUsers:
    """A submitter for every trust of the registry and one national reader for the stream.

    The access policy lets only a trust's own ``trust_submitter`` send its returns and reports,
    so the demo users (four trusts) would not do; ``national_viewer`` sees every provider's alerts.
    """
    users = [
        DemoUser(
            username=submitter(p.ods_code),
            name=f"{p.ods_code} benchmark submitter",
            organisation=p.ods_code,
            roles=("trust_submitter",),
        )
        for p in registry.providers
    ]
    users.append(
        DemoUser(
            username=READER,
            name="Benchmark national reader",
            organisation=registry.national.ods_code,
            roles=("national_viewer",),
        )
    )
    return DemoUsers(users=tuple(users)).check(registry, load_policy())


def consumed_topics(service: str) -> list[str]:
    """The topics a service's consumer group reads, from its own handler registrations."""
    spec = spec_of(service)
    handlers = importlib.import_module(f"{spec.package}.handlers").handlers
    return [topic for registration in handlers.registrations for topic in registration.topics]


def spec_of(service: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == service)


def group_of(service: str) -> str:
    return ServiceSettings(service_name=service).consumer_group


class Stack:
    """The broker, the OpenID Connect provider and the services of one run, in ``workdir``."""

    def __init__(self, keep: bool, database: str = "sqlite") -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
        self.keep = keep
        self.database = database
        self.broker: Any = None  # deploy/kafka/broker.py's KafkaBroker
        self.postgres: Any = None  # deploy/postgres/pg.py's PostgresServer, with --database postgres
        self.issuer: RunningIssuer | None = None
        self.services: dict[str, ServiceProcess] = {}
        self._dirs = 0

    @property
    def bootstrap(self) -> str:
        bootstrap: str = self.broker.bootstrap_servers
        return bootstrap

    def start_broker(self) -> None:
        self.broker = load_deploy_module("deploy/kafka/broker.py").KafkaBroker()
        self.broker.start(data_dir=self.workdir / "kafka")

    def start_postgres(self) -> None:
        """The recommended production store: one server, a fresh database per service and measure
        (the tests' own PostgreSQL from Debian's packages, here with fsync on, as in production)."""
        self.postgres = load_deploy_module("deploy/postgres/pg.py").PostgresServer()
        self.postgres.start(durable=True)  # its own temp dir: the workdir is private to this user

    def _database_env(self, name: str, data_dir: Path) -> dict[str, str]:
        if self.postgres is None:
            return {}
        database = f"{name}_{data_dir.name}".replace("-", "_")
        self.postgres.create_database(database)
        return {"OVERSIGHT_DATABASE_URL": self.postgres.url(database)}

    def start_issuer(self, users: DemoUsers) -> None:
        """The local provider with the benchmark's users, as ``deploy/run.py`` starts it."""
        process = load_deploy_module("deploy/oidc/issuer.py").OidcIssuer()
        auth = AuthSettings()
        config = issuer_config(
            users,
            audience=auth.audience,
            signing_key=new_signing_key(),
            mapping=auth.claim_mapping(),
            token_seconds=6 * 3600,  # longer than any run, so no token expires mid-measure
        )
        self.issuer = RunningIssuer(process)
        process.start(config, log_path=self.workdir / "oidc.log")

    def headers(self, user: str) -> dict[str, str]:
        assert self.issuer is not None
        return self.issuer.headers(user)

    def fresh_dir(self, name: str) -> Path:
        """A new, empty data directory: each measure starts its services with no history."""
        self._dirs += 1
        path = self.workdir / f"{self._dirs:02d}-{name}"
        path.mkdir()
        return path

    def service(self, name: str, data_dir: Path) -> ServiceProcess:
        """A service process on the embedded defaults (SQLite under ``data_dir``, or a database
        of its own with ``--database postgres``), not started."""
        assert self.issuer is not None
        process = ServiceProcess(
            spec=spec_of(name),
            port=free_port(),
            env={
                "OVERSIGHT_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "OVERSIGHT_DATA_DIR": str(data_dir),
                "OVERSIGHT_AUTH_ISSUER": self.issuer.issuer,
                **self._database_env(name, data_dir),
            },
            log_path=data_dir / f"{name}.log",
        )
        self.services[name] = process
        return process

    def stop_services(self) -> None:
        for name in list(self.services):
            self.services.pop(name).stop()

    def close(self) -> None:
        """Stop everything started here (each stop on its own: one failing must not skip others)."""
        with contextlib.suppress(Exception):
            self.stop_services()
        if self.issuer is not None:
            with contextlib.suppress(Exception):
                self.issuer.process.stop()
        if self.broker is not None:
            with contextlib.suppress(Exception):
                self.broker.stop()
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.stop()
        if self.keep:
            log(f"kept {self.workdir} (logs, data, broker)")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def check_alive(process: ServiceProcess) -> None:
    """Raise with the log tail if the service process has exited: a figure from a crashed
    service is no figure."""
    if process.process is not None and process.process.poll() is not None:
        raise RuntimeError(
            f"{process.spec.name} exited ({process.process.returncode}):\n{process.log_tail()}"
        )


def without_inherited_settings() -> list[str]:
    """Drop ``OVERSIGHT_*`` variables this process inherited, so that the services (which get
    this environment) run on the embedded defaults, never on a developer's database URL."""
    dropped = sorted(k for k in os.environ if k.startswith("OVERSIGHT_"))
    for key in dropped:
        del os.environ[key]
    return dropped


class Offsets:
    """End offsets and a group's committed offsets, read with clients kept open.

    ``oversight_runtime.lag.measure_lag`` opens and closes two clients per reading; polling it ten
    times a second on a two-core machine would cost the measured services CPU.
    """

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> Offsets:
        await self.admin.start()
        await self.reader.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.reader.stop()
        await self.admin.close()

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        """The partitions of those of ``topics`` that exist."""
        described = await self.admin.describe_topics(sorted(set(topics)))
        return [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if topic.get("error_code", 0) == 0
            for partition in topic["partitions"]
        ]

    async def ends(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        if not partitions:
            return {}
        ends: dict[TopicPartition, int] = await self.reader.end_offsets(list(partitions))
        return ends

    async def total(self, topics: Iterable[str]) -> int:
        """Messages ever written to ``topics`` (their end offsets summed)."""
        return sum((await self.ends(await self.partitions(topics))).values())

    async def committed(self, group: str, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The group's committed offsets; 0 where it has none (it would start at the beginning)."""
        found = await self.admin.list_consumer_group_offsets(group, partitions=list(partitions))
        return {tp: max(found[tp].offset, 0) if tp in found else 0 for tp in partitions}

    async def lag(self, group: str, partitions: Sequence[TopicPartition]) -> int:
        ends = await self.ends(partitions)
        committed = await self.committed(group, partitions)
        return sum(max(ends[tp] - committed[tp], 0) for tp in partitions)

    async def joined(self, group: str) -> bool:
        """Whether ``group`` has members with partitions assigned (its state is Stable)."""
        for response in await self.admin.describe_consumer_groups([group]):
            for described in response.to_object()["groups"]:
                if described["state"] == "Stable" and described["members"]:
                    return True
        return False

    async def skip_to_end(self, group: str, topics: Iterable[str]) -> None:
        """Commit the end of every partition for ``group`` (whose members are all stopped): a
        measure starts with no backlog left by an earlier one, whatever that one wrote."""
        partitions = await self.partitions(topics)
        if not partitions:
            return
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            await consumer.commit(dict(ends))
        finally:
            await consumer.stop()


def dead_letter_topics(service: str) -> list[str]:
    return [topic + DEAD_LETTER_SUFFIX for topic in consumed_topics(service)]


async def produce(
    bootstrap: str, messages: Iterable[tuple[str, bytes, bytes]], *, in_flight: int = 64
) -> int:
    """Write (topic, key, value) messages as fast as one producer can: batches filled by hand
    (no future per message) and up to ``in_flight`` batches awaited together; partitioned by key
    like the services' producers (murmur2), so a provider's events share a partition.

    Returns how many were written, once every batch is acknowledged.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=256 << 10)
    await producer.start()
    partitioner = DefaultPartitioner()
    partitions: dict[str, list[int]] = {}
    chosen: dict[tuple[str, bytes], int] = {}
    batches: dict[tuple[str, int], Any] = {}
    pending: list[asyncio.Future[Any]] = []
    count = 0
    headers = [CONTENT_TYPE]
    try:

        async def send(topic: str, partition: int) -> None:
            pending.append(
                await producer.send_batch(batches.pop((topic, partition)), topic, partition=partition)
            )
            if len(pending) >= in_flight:
                await asyncio.gather(*pending)
                pending.clear()

        for topic, key, value in messages:
            if topic not in partitions:
                await ensure_topics(bootstrap, [topic])
                partitions[topic] = sorted(await producer.partitions_for(topic))
            if (topic, key) not in chosen:
                chosen[topic, key] = partitioner(key, partitions[topic], partitions[topic])
            partition = chosen[topic, key]
            batch = batches.get((topic, partition))
            if batch is None:
                batch = batches[topic, partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                await send(topic, partition)
                batch = batches[topic, partition] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
            count += 1
        for topic, partition in list(batches):
            await send(topic, partition)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count
