"""Metrics: turns trusts' returns, exception reports, facts and concerns into indicators and triggers."""

from __future__ import annotations

from pathlib import Path

from oversight_contracts import (
    MetricEvaluated,
    MetricScoresCalculatedV2,
    TriggerClearedV2,
    TriggerRaisedV2,
    TriggerReviewDueV2,
)
from oversight_metrics.api import router
from oversight_metrics.handlers import handlers, jobs
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings

NAME = "metrics"


def create_service(settings: ServiceSettings | None = None) -> OversightService:
    return OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        handlers=handlers,
        publishes=[
            MetricEvaluated,
            TriggerRaisedV2,
            TriggerClearedV2,
            MetricScoresCalculatedV2,
            TriggerReviewDueV2,
        ],
        # Twenty-eight per return: sent after the triggers, which people wait on.
        background=[MetricEvaluated],
        jobs=jobs,
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )


def run() -> None:
    create_service().serve()
