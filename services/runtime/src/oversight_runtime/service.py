"""One service, assembled the same way every time.

A service declares its HTTP routes, the events it handles, the events it publishes and its
tables; this module gives it the rest: settings, migrations, the broker with at-least-once
consumers, the outbox relay, dead letters, logs, traces, metrics and health endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from faststream.specification import AsyncAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel
from starlette.routing import Match

from oversight_contracts import DEAD_LETTER_SUFFIX, Envelope
from oversight_contracts.frameworks import load_pack
from oversight_runtime.access import Principal, load_policy
from oversight_runtime.changes import ChangeFeed, listen_for_changes
from oversight_runtime.consumer import BatchConsumer
from oversight_runtime.database import Database
from oversight_runtime.dead_letters import DeadLetterPolicy, classify
from oversight_runtime.errors import Rejected, safe_errors
from oversight_runtime.handlers import EventHandlers, HandlerRegistration, typed_consumer
from oversight_runtime.health import Readiness
from oversight_runtime.idempotency import Effect, run_idempotent
from oversight_runtime.lag import watch_lag
from oversight_runtime.limits import BodyTimeoutMiddleware, StreamLimiter, guarded_protocol
from oversight_runtime.outbox import OutboxRelay
from oversight_runtime.periodic import PeriodicJob, in_unit_of_work, run_periodically
from oversight_runtime.producer import Message, RecoveringProducer
from oversight_runtime.reference import UnknownOrganisation, load_registry
from oversight_runtime.retention import purge_expired
from oversight_runtime.security import Access, audit
from oversight_runtime.settings import ServiceSettings
from oversight_runtime.storage import OutboxMessage
from oversight_runtime.telemetry import (
    CorrelationMiddleware,
    ServiceMetrics,
    configure_logging,
    configure_tracing,
    correlation_id_var,
)
from oversight_runtime.tokens import TokenVerifier
from oversight_runtime.topics import ensure_topics
from oversight_runtime.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
STORAGE_RETRY_AFTER_SECONDS = 5


class OversightService:
    def __init__(
        self,
        name: str,
        *,
        migrations: Path,
        api: APIRouter | None = None,
        handlers: EventHandlers | None = None,
        publishes: Sequence[type[Envelope[Any]]] = (),
        background: Sequence[type[Envelope[Any]]] = (),
        jobs: Sequence[PeriodicJob] = (),
        description: str = "",
        settings: ServiceSettings | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.settings = settings or ServiceSettings(service_name=name)
        configure_logging(name, self.settings.log_level)
        self.tracer_provider = configure_tracing(name, self.settings.trace_file)
        self.registry = load_registry(self.settings.reference_data)
        policy = load_policy()
        self.access = Access(TokenVerifier(self.settings.auth, self.registry, policy), policy, self.registry)
        self.framework = load_pack(self.settings.framework)
        self.prometheus = CollectorRegistry()
        self.metrics = ServiceMetrics(self.prometheus)
        self.database = Database(self.settings.resolved_database_url)
        self.migrations = migrations
        self.dead_letters = DeadLetterPolicy(
            service=name,
            max_attempts=self.settings.max_delivery_attempts,
            backoff_seconds=self.settings.retry_backoff_seconds,
            metrics=self.metrics,
        )
        self.broker = KafkaBroker(
            self.settings.kafka_bootstrap_servers,
            client_id=f"oversight-{name}",
            middlewares=[
                KafkaTelemetryMiddleware(tracer_provider=self.tracer_provider),
                KafkaPrometheusMiddleware(registry=self.prometheus, app_name=name),
            ],
            logger=logging.getLogger(f"oversight.{name}.broker"),
        )
        self.handlers = handlers or EventHandlers()
        self.jobs = tuple(jobs)
        self.consumed_topics = [t for r in self.handlers.registrations for t in r.topics]
        self.consumer = BatchConsumer(
            name,
            self.handlers.registrations,
            self.unit_of_work,
            self.registry,
            self.dead_letters,
            self.metrics,
            self.tracer_provider.get_tracer("oversight.consumer"),
        )
        if self.consumed_topics:
            self._subscribe()
        self.specification = _specification(self.settings, self.handlers.registrations, publishes)
        self.relay = OutboxRelay(
            self.database,
            self._publish_rows,
            self.metrics,
            poll_seconds=self.settings.relay_poll_seconds,
            batch_size=self.settings.relay_batch_size,
            background_topics=frozenset(e.topic() for e in background),
        )
        self.producer = RecoveringProducer(
            self.settings.kafka_bootstrap_servers,
            client_id=f"oversight-{name}-relay",
            request_timeout_ms=self.settings.kafka_request_timeout_ms,
            on_restart=self.metrics.producer_restarts.labels("relay").inc,
        )
        self.tracer = self.tracer_provider.get_tracer("oversight.outbox")
        self.streams = StreamLimiter(self.settings.max_streams_per_user, self.settings.max_streams)
        #: Wakes live streams when what they show changes (see ``changes``).
        self.changes = ChangeFeed()
        self.readiness = Readiness(
            self.database,
            self.relay,
            self.dead_letters,
            lambda: self.broker.ping(timeout=2),
            self.settings.unready_after_seconds,
        )
        self.app = self._build_app(api)

    # --- units of work ------------------------------------------------------------------------

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self.database.transaction() as session:
            uow = UnitOfWork(
                session=session,
                registry=self.registry,
                framework=self.framework,
                source=self.name,
                feed=self.changes,
            )
            yield uow
            await uow.run_deferred()
            await uow.write_inserts()
        if uow.staged:
            self.relay.wake()
        for callback in uow.committed:
            callback()

    # --- writing through the API -------------------------------------------------------------

    async def idempotent_write(
        self, request: Request, principal: Principal, *, key: str | None, body: BaseModel, effect: Effect
    ) -> JSONResponse:
        """Run a write endpoint's effect once per caller and idempotency key (see ``idempotency``),
        and audit the act.

        Keys are scoped to the caller and the concrete path, e.g. one provider's decisions;
        replays are counted by route template, so the metric has one series per endpoint.
        """
        route: APIRoute = request.scope["route"]
        endpoint = f"{request.method} {request.url.path}"
        response = await run_idempotent(
            self.unit_of_work,
            principal=principal.user_id,
            key=key,
            endpoint=endpoint,
            body=body,
            effect=effect,
            on_replay=self.metrics.idempotent_replays.labels(f"{request.method} {route.path}").inc,
        )
        audit(principal, "applied", endpoint=endpoint, status=response.status_code)
        return response

    # --- reading through the API -------------------------------------------------------------

    async def get_in_scope(
        self, principal: Principal, table: type[SQLModel], item_id: UUID, *, what: str, loc: str
    ) -> Any:
        """One row by id, for a reader: 404 when there is none, 403 when the provider it is about
        is outside the principal's scope (the one rule, see ``security``)."""
        async with self.unit_of_work() as uow:
            row: Any = await uow.session.get(table, item_id)
        if row is None:
            raise HTTPException(404, f"no {what} {item_id}")
        self.access.ensure_in_scope(principal, row.provider, loc=("path", loc))
        return row

    # --- consuming ----------------------------------------------------------------------------

    def _subscribe(self) -> None:
        """One subscriber for every topic the service reads: one consumer, one group join, one
        batch at a time (see ``consumer``)."""

        async def consume(records: Any) -> None:
            await self.consumer.consume(records)

        self.broker.subscriber(
            *self.consumed_topics,
            group_id=self.settings.consumer_group,
            batch=True,
            max_records=self.settings.consumer_batch_size,
            batch_timeout_ms=self.settings.consumer_batch_wait_ms,
            decoder=_records,
            # Applied or parked: acknowledged. Anything that still escapes (a dead-letter publish
            # that failed) seeks back to the batch's first offsets, so nothing is ever skipped.
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            include_in_schema=False,
        )(consume)

    # --- publishing ---------------------------------------------------------------------------

    async def _publish_rows(self, rows: Sequence[OutboxMessage]) -> list[Exception | None]:
        """Publish outbox rows together, each inside the trace of the transaction that wrote it."""
        return await self.producer.send_all([self._message(row) for row in rows])

    def _message(self, row: OutboxMessage) -> Message:
        """The row as a Kafka message: the headers FastStream's own publisher sets (content type,
        correlation id) plus the W3C trace context of a producer span, a child of the writing
        transaction's, so consumers continue the same trace."""
        token = otel_context.attach(propagate.extract(row.headers))
        try:
            with self.tracer.start_as_current_span(f"{row.topic} publish", kind=SpanKind.PRODUCER) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.destination.name", row.topic)
                span.set_attribute("messaging.message.id", str(row.event_id))
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
        finally:
            otel_context.detach(token)
        headers = [
            ("content-type", b"application/json"),
            ("correlation_id", str(row.correlation_id).encode()),
            ("ce-type", row.event_type.encode()),
            *((k, v.encode()) for k, v in carrier.items()),
        ]
        return Message(row.topic, row.payload.encode(), row.key.encode(), headers)

    async def _publish_dead_letter(
        self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        await self.producer.send(topic, value, key, headers)

    # --- lifecycle ----------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.database.migrate(self.migrations)
        await self.producer.start()
        self.dead_letters.publish = self._publish_dead_letter
        await ensure_topics(self.settings.kafka_bootstrap_servers, self._topics())
        await self.broker.start()
        tasks = [asyncio.create_task(self.relay.run_forever(), name="outbox-relay")]
        tasks += [
            asyncio.create_task(
                run_periodically(
                    job.name,
                    in_unit_of_work(job, self.unit_of_work),
                    job.interval_seconds or self.settings.periodic_job_seconds,
                ),
                name=job.name,
            )
            for job in self.jobs
        ]
        tasks.append(
            asyncio.create_task(
                run_periodically("retention", self._purge, self.settings.purge_interval_seconds),
                name="retention",
            )
        )
        if self.database.engine.dialect.name == "postgresql":  # other replicas' changes
            tasks.append(
                asyncio.create_task(
                    listen_for_changes(
                        self.database.engine, self.changes, on_lost=self.metrics.change_listener_lost.inc
                    ),
                    name="change-listener",
                )
            )
        if self.consumed_topics:
            tasks.append(
                asyncio.create_task(
                    watch_lag(
                        self.settings.kafka_bootstrap_servers,
                        self.settings.consumer_group,
                        self.consumed_topics,
                        self.metrics,
                        self.settings.lag_poll_seconds,
                    ),
                    name="consumer-lag",
                )
            )
        log.info("%s started", self.name)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.broker.stop()
            await self.producer.stop()
            await self.database.dispose()
            log.info("%s stopped", self.name)

    async def _purge(self) -> int:
        """Old inbox, published outbox and idempotency rows (see ``retention``)."""
        retention = timedelta(days=self.settings.retention_days)
        return sum((await purge_expired(self.database, retention, metrics=self.metrics)).values())

    def _topics(self) -> list[str]:
        """Every topic this service touches, created up front so consumers never wait on metadata."""
        published = [str(getattr(p, "topic", "")) for p in self.specification.publishers]
        return sorted(
            {*self.consumed_topics, *(t + DEAD_LETTER_SUFFIX for t in self.consumed_topics), *published}
        )

    # --- HTTP ---------------------------------------------------------------------------------

    def _build_app(self, api: APIRouter | None) -> FastAPI:
        app = FastAPI(
            title=f"NHS oversight: {self.name}",
            description=self.description,
            version="1.0.0",
            lifespan=self.lifespan,
            dependencies=[Depends(correlation_header)],
            max_body_size=self.settings.max_body_bytes,
        )
        app.state.service = self
        app.state.access = self.access
        app.add_middleware(BodyTimeoutMiddleware, timeout=self.settings.client_timeout_seconds)

        app.add_middleware(CorrelationMiddleware, header=CORRELATION_HEADER, valid=_valid_uuid)

        @app.exception_handler(UnknownOrganisation)
        async def unknown_organisation(_request: Request, error: UnknownOrganisation) -> JSONResponse:
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["path", "ods_code"],
                            "msg": str(error),
                            "type": "unknown_organisation",
                        }
                    ]
                },
                status_code=404,
            )

        @app.exception_handler(405)
        async def method_not_allowed(request: Request, _error: Exception) -> JSONResponse:
            """Allow lists the methods of every route on the path, not only the first route's
            (a path served by two route functions, such as GET and POST, answers with both)."""
            allowed: set[str] = set()
            for route in app.routes:
                if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE:
                    allowed |= route.methods or set()
            return JSONResponse(
                {"detail": "Method Not Allowed"},
                status_code=405,
                headers={"Allow": ", ".join(sorted(allowed))},
            )

        @app.exception_handler(SQLAlchemyError)
        async def storage_failed(_request: Request, error: SQLAlchemyError) -> JSONResponse:
            """A database that is down, full, read-only or locked: try again soon. A database
            error that no retry can fix is a bug, and stays a 500."""
            if classify(error) != "transient":
                raise error
            log.warning("storage unavailable: %s", error)
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": [],
                            "msg": "the service's database is unavailable; retry later",
                            "type": "storage_unavailable",
                        }
                    ]
                },
                status_code=503,
                headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
            )

        @app.exception_handler(RequestValidationError)
        async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
            return JSONResponse({"detail": safe_errors(error.errors())}, status_code=422)

        @app.exception_handler(Rejected)
        async def rejected(_request: Request, error: Rejected) -> JSONResponse:
            return JSONResponse({"detail": error.detail()}, status_code=error.status_code)

        @app.get("/healthz", tags=["health"])
        async def healthz() -> dict[str, str]:
            """Alive: the process answers."""
            return {"status": "ok", "service": self.name}

        @app.get("/readyz", tags=["health"])
        async def readyz() -> JSONResponse:
            """Ready: the database takes writes, the relay publishes and no consumer is stuck
            (see ``health``); the broker's state is shown but an outage alone is not unready."""
            ready, checks = await self.readiness.check()
            return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

        @app.get(
            "/metrics",
            tags=["health"],
            response_class=Response,
            responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {}}}},
        )
        async def metrics() -> Response:
            return Response(generate_latest(self.prometheus), media_type=CONTENT_TYPE_LATEST)

        if api is not None:
            app.include_router(api)
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.tracer_provider, excluded_urls="healthz,readyz,metrics"
        )
        _document_parameters_truthfully(app)
        return app

    # --- documents ----------------------------------------------------------------------------

    def asyncapi(self) -> str:
        spec = AsyncAPI(
            self.specification,
            title=f"NHS oversight: {self.name}",
            version="1.0.0",
            description=self.description,
        )
        return spec.to_specification().to_json()

    def serve(self) -> None:
        uvicorn.run(
            self.app,
            host=self.settings.http_host,
            port=self.settings.resolved_http_port,
            log_config=None,
            http=guarded_protocol(self.settings.client_timeout_seconds),
            timeout_keep_alive=5,
        )


def _document_parameters_truthfully(app: FastAPI) -> None:
    """An optional header or query parameter is absent or a string, never JSON ``null``: say so
    in the OpenAPI document (FastAPI writes ``anyOf: [..., null]`` for ``X | None``), so clients
    and fuzzers do not send the text "null" believing it means nothing."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        for item in document.get("paths", {}).values():
            for operation in item.values():
                for parameter in operation.get("parameters", ()):
                    schema = parameter.get("schema", {})
                    options = schema.get("anyOf")
                    if parameter.get("in") in {"header", "query"} and options and {"type": "null"} in options:
                        rest = [o for o in options if o != {"type": "null"}]
                        schema.pop("anyOf")
                        schema.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


async def _records(message: Any) -> Any:
    """The batch's Kafka records as they are: each is decoded against its topic's contract by
    the consumer, so one bad record is parked alone rather than failing the batch."""
    return message.raw_message


def _specification(
    settings: ServiceSettings,
    registrations: Sequence[HandlerRegistration],
    publishes: Sequence[type[Envelope[Any]]],
) -> KafkaBroker:
    """A broker that is never started, describing what the service reads and writes for AsyncAPI:
    one channel per handler (titled with its name), typed by the event versions it takes."""
    name = settings.service_name
    described = KafkaBroker(settings.kafka_bootstrap_servers, client_id=f"oversight-{name}")
    for registration in registrations:
        described.subscriber(
            *registration.topics,
            group_id=settings.consumer_group,
            title=f"{name}.{registration.name}",
            description=registration.handle.__doc__,
        )(typed_consumer(registration.event_types, _no_op))
    for event_type in publishes:
        described.publisher(event_type.topic(), schema=event_type, title=f"{event_type.topic()}:publish")
    return described


async def _no_op(_event: Any) -> None:
    """Documentation only: the running subscriber is ``OversightService._subscribe``."""


def service_of(request: Request) -> OversightService:
    service: OversightService = request.app.state.service
    return service


def for_provider(request: Request, principal: Principal, ods_code: str) -> OversightService:
    """The service, once the provider in the path exists (404) and is in the principal's scope (403)."""
    service = service_of(request)
    service.access.ensure_provider(principal, ods_code)
    return service


def current_correlation_id() -> str:
    return correlation_id_var.get() or str(uuid4())


def _valid_uuid(text: str | None) -> str | None:
    try:
        return str(UUID(text)) if text and len(text) <= 64 else None
    except ValueError:
        return None


async def correlation_header(
    x_correlation_id: Annotated[
        UUID | None,
        Header(
            alias=CORRELATION_HEADER,
            description="Follow one request across every service; a UUID. One is made when absent.",
        ),
    ] = None,
) -> None:
    """Documents and validates the correlation header (the middleware reads it)."""
