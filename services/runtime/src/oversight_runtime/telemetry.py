"""Logs, traces and metrics, set up the same way in every service.

JSON logs carry the correlation id of the event or request being handled, so one grep follows a
trust's report through every service; traces follow the same chain across Kafka hops.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO
from uuid import uuid4

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge
from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


@contextmanager
def correlation(correlation_id: object) -> Iterator[None]:
    token = correlation_id_var.set(str(correlation_id))
    try:
        yield
    finally:
        correlation_id_var.reset(token)


class CorrelationMiddleware:
    """Every request runs under a correlation id: the caller's (when it is a valid one) or a new
    one, sent back in the answer's header.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the
    rest of the app in a task group of its own and re-streams the answer, which cost ingest's write
    path about a tenth of its CPU per request.
    """

    def __init__(self, app: ASGIApp, *, header: str, valid: Callable[[str | None], str | None]) -> None:
        self.app = app
        self.header = header
        self.valid = valid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = self.valid(Headers(scope=scope).get(self.header)) or str(uuid4())

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[self.header] = correlation_id
            await send(message)

        with correlation(correlation_id):
            await self.app(scope, receive, send_with_header)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = correlation_id_var.get()
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        return True


def configure_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{service}{correlation_id}{trace_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "alembic", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _json_line(span: ReadableSpan) -> str:
    """One span as a JSON line (the SDK's own to_json chokes on the bytes keys Kafka spans carry)."""
    context = span.get_span_context()
    record = {
        "name": span.name,
        "context": {
            "trace_id": f"0x{context.trace_id:032x}" if context else None,
            "span_id": f"0x{context.span_id:016x}" if context else None,
        },
        "kind": str(span.kind),
        "parent_id": f"0x{span.parent.span_id:016x}" if span.parent else None,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "resource": {"attributes": dict(span.resource.attributes)},
    }
    return json.dumps(record, default=_plain) + "\n"


def _plain(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def configure_tracing(service: str, trace_file: Path | None) -> TracerProvider:
    """A tracer provider named after the service; spans go to a JSON-lines file when asked."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if trace_file is not None:
        trace_file.parent.mkdir(parents=True, exist_ok=True)
        stream: IO[str] = trace_file.open("a", buffering=1, encoding="utf-8")
        provider.add_span_processor(
            SimpleSpanProcessor(ConsoleSpanExporter(out=stream, formatter=_json_line))
        )
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)  # once per process; each service passes its own anyway
    return provider


class ServiceMetrics:
    """The platform's own Prometheus metrics, next to FastStream's middleware metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events_handled = Counter(
            "oversight_events_handled_total",
            "Events taken off Kafka by a handler, by outcome (applied or duplicate).",
            ["handler", "outcome"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "oversight_dead_lettered_total",
            "Messages parked on a dead-letter topic after failing.",
            ["topic"],
            registry=registry,
        )
        self.consumer_stalled = Gauge(
            "oversight_consumer_stalled",
            "1 while a topic's consumer waits out a transient failure (database or broker), holding its partition.",
            ["topic"],
            registry=registry,
        )
        self.transient_failures = Counter(
            "oversight_transient_failures_total",
            "Tries of a message that met a transient failure and will be tried again.",
            ["topic", "error"],
            registry=registry,
        )
        self.outbox_published = Counter(
            "oversight_outbox_published_total",
            "Outbox rows published to Kafka by the relay.",
            ["topic"],
            registry=registry,
        )
        self.outbox_parked = Counter(
            "oversight_outbox_parked_total",
            "Outbox rows moved aside because they can never be published as they are (alert on any).",
            ["topic"],
            registry=registry,
        )
        self.producer_restarts = Counter(
            "oversight_producer_restarts_total",
            "Kafka producers replaced after a fatal producer error (stale sequence or producer id).",
            ["producer"],
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "oversight_outbox_pending",
            "Outbox rows not yet published (as of the relay's last sweep).",
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "oversight_consumer_lag",
            "Messages on a partition not yet committed by this service's consumer group.",
            ["topic", "partition"],
            registry=registry,
        )
        self.idempotent_replays = Counter(
            "oversight_idempotent_replays_total",
            "Write requests answered from an earlier request with the same idempotency key.",
            ["endpoint"],
            registry=registry,
        )
        self.rows_purged = Counter(
            "oversight_rows_purged_total",
            "Rows deleted for being older than the retention window (published outbox rows, inbox rows, idempotency keys).",
            ["table"],
            registry=registry,
        )
        self.change_listener_lost = Counter(
            "oversight_change_listener_lost_total",
            "Times the PostgreSQL connection listening for other replicas' changes was lost (or could not be made) and replaced.",
            registry=registry,
        )
