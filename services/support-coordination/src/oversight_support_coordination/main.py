"""Support coordination: turns support needs into packages agreed by the ICS and the region."""

from __future__ import annotations

from pathlib import Path

from oversight_contracts import SupportPackageProposedV2
from oversight_runtime.periodic import PeriodicJob
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_support_coordination import watch
from oversight_support_coordination.api import router
from oversight_support_coordination.handlers import handlers
from oversight_support_coordination.packages import PUBLISHED

NAME = "support-coordination"


def create_service(settings: ServiceSettings | None = None) -> OversightService:
    settings = settings or ServiceSettings(service_name=NAME)
    daily = PeriodicJob("plan-items-due", watch.check_plan_items, settings.daily_job_seconds)
    return OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        handlers=handlers,
        publishes=[SupportPackageProposedV2, *PUBLISHED],
        jobs=[daily],
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )


def run() -> None:
    create_service().serve()
