"""Notification: routes live alerts to the right ICS, regional and trust teams, on the live
stream, by email and by signed webhook."""

from __future__ import annotations

from pathlib import Path

from oversight_contracts import AlertAcknowledged, AlertIssued, AlertResolved, AlertSnoozed
from oversight_notification import dispatch, telemetry
from oversight_notification.api import router
from oversight_notification.handlers import handlers
from oversight_notification.settings import NotificationSettings
from oversight_runtime.periodic import PeriodicJob
from oversight_runtime.service import OversightService
from oversight_runtime.settings import ServiceSettings

NAME = "notification"


def create_service(
    settings: ServiceSettings | None = None, notification: NotificationSettings | None = None
) -> OversightService:
    notification = notification or NotificationSettings()
    jobs = [
        PeriodicJob("notify", dispatch.make_notifications, notification.dispatch_seconds),
        PeriodicJob(
            "send", run_in_steps=dispatch.Sender(notification), interval_seconds=notification.dispatch_seconds
        ),
        PeriodicJob("wake-snoozed", dispatch.wake_snoozed, notification.dispatch_seconds),
    ]
    service = OversightService(
        NAME,
        description=__doc__ or "",
        api=router,
        handlers=handlers,
        publishes=[AlertIssued, AlertAcknowledged, AlertSnoozed, AlertResolved],
        jobs=jobs,
        migrations=Path(__file__).parent / "migrations",
        settings=settings,
    )
    telemetry.use(service.prometheus)
    return service


def run() -> None:
    create_service().serve()
