"""Ingest: takes trusts' returns and exception reports, and the facts and concerns oversight teams
record, and publishes each as an event."""

from __future__ import annotations

from pathlib import Path

from oversight_contracts import (
    ExceptionReportReceivedV2,
    MaterialConcernRaisedV2,
    ProviderFactsRecordedV2,
    SubmissionReceivedV2,
)
from oversight_ingest.api import router
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings

NAME = "ingest"


def create_service(settings: ServiceSettings | None = None) -> OversightService:
    return OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        publishes=[
            ExceptionReportReceivedV2,
            SubmissionReceivedV2,
            ProviderFactsRecordedV2,
            MaterialConcernRaisedV2,
        ],
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )


def run() -> None:
    create_service().serve()
