"""Support coordination: turns support needs into packages agreed by the ICS and the region."""

from __future__ import annotations

from pathlib import Path

from oversight_contracts import SupportPackageProposedV2
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings
from oversight_support_coordination.api import router
from oversight_support_coordination.handlers import handlers
from oversight_support_coordination.packages import PUBLISHED

NAME = "support-coordination"


def create_service(settings: ServiceSettings | None = None) -> OversightService:
    return OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        handlers=handlers,
        publishes=[SupportPackageProposedV2, *PUBLISHED],
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )


def run() -> None:
    create_service().serve()
