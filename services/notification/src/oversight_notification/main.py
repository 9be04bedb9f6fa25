"""Notification: routes live alerts to the right ICS and regional teams."""

from __future__ import annotations

from pathlib import Path

from oversight_notification.api import router
from oversight_notification.handlers import handlers
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings

NAME = "notification"


def create_service(settings: ServiceSettings | None = None) -> OversightService:
    return OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        handlers=handlers,
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )


def run() -> None:
    create_service().serve()
