"""Alerts stored by the handler and sent by the dispatcher, on a real database (SQLite and
PostgreSQL) and a real SMTP server, with the clock given: five reports within the group wait are
one email; a second round, and a restart (a new process's database connection), send nothing
twice; a subscription in its quiet hours gets one digest when they end, an urgent alert at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from oversight_contracts import (
    Actor,
    ExceptionReportCategory,
    ExceptionReportReceivedV2,
    Theme,
    TriggerRaisedV2,
    TriggerRaisedV2Data,
)
from oversight_contracts.events import ExceptionReportReceivedV2Data
from oversight_contracts.frameworks import load_pack
from oversight_notification import handlers
from oversight_notification.dispatch import Sender, make_notifications
from oversight_notification.settings import NotificationSettings
from oversight_notification.storage import AlertAudience, Notification, Subscription
from oversight_runtime.database import Database
from oversight_runtime.reference import load_registry
from oversight_runtime.unit_of_work import UnitOfWork
from tests.support.receivers import Inbox, smtp_server

MIGRATIONS = Path(handlers.__file__).parent / "migrations"
REGISTRY, PACK = load_registry(), load_pack("nof-2019")
TRUST = Actor(user_id="rp6.submitter", name="Leila Ahmed", organisation="RP6", role="trust_submitter")


def _report(i: int) -> ExceptionReportReceivedV2:
    return ExceptionReportReceivedV2.new(
        source="ingest",
        subject="RP6",
        data=ExceptionReportReceivedV2Data(
            report_id=uuid4(),
            provider="RP6",
            category=ExceptionReportCategory.OPERATIONAL_DELIVERY_FAILURE,
            summary=f"Theatre list {i} cancelled",
            occurred_on=date.today(),
            actor=TRUST,
        ),
    )


class Store:
    """A notification database and units of work on it, as the service makes them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = Database(url)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UnitOfWork]:
        async with self.database.transaction() as session:
            uow = UnitOfWork(session=session, registry=REGISTRY, framework=PACK, source="notification")
            yield uow
            await uow.write_inserts()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notification.db'}"
    else:
        new_database: Callable[[str], str] = request.getfixturevalue("new_database")
        url = new_database("dispatch")
    made = Store(url)
    await made.database.migrate(MIGRATIONS)
    yield made
    await made.database.dispose()


async def _subscribe(
    store: Store, inbox: Inbox, user: str, organisation: str, **values: object
) -> Subscription:
    sub = Subscription(
        id=uuid4(),
        user_id=user,
        user_name=user,
        organisation=organisation,
        role="ics_member",
        channel="email",
        address=f"{user}@nhs.invalid",
        **values,  # type: ignore[arg-type]
    )
    async with store.unit() as uow:
        uow.session.add(sub)
    return sub


def _sender(inbox: Inbox) -> Sender:
    return Sender(
        NotificationSettings(smtp_port=inbox.port, smtp_starttls=False, delivery_base_delay_seconds=0.01)
    )


async def test_five_reports_in_the_group_wait_are_one_email_sent_once_across_a_restart(store: Store) -> None:
    with smtp_server() as inbox:
        await _subscribe(store, inbox, "qmj.member", "QMJ")
        await _subscribe(store, inbox, "qkk.member", "QKK")  # another ICS: never sent RP6's alerts
        async with store.unit() as uow:
            for i in range(5):
                await handlers.on_event(uow, _report(i))
        now = datetime.now(UTC)
        async with store.unit() as uow:
            assert await make_notifications(uow, now) == 0, "not before the group wait"
        async with store.unit() as uow:
            made = await make_notifications(uow, now + timedelta(seconds=31))
        assert made == 1, "QMJ's one subscriber, one group (RP6, operational performance); Y56 has none"
        async with store.unit() as uow:
            assert await make_notifications(uow, now + timedelta(minutes=10)) == 0, "nothing new"
        restarted = Store(store.url)  # what a restarted process sees
        async with restarted.unit() as uow:
            assert await make_notifications(uow, now + timedelta(minutes=20)) == 0, "nor after a restart"
        await restarted.database.dispose()

        sent = await _sender(inbox)(store.unit)
        assert sent == made and await _sender(inbox)(store.unit) == 0
        to_qmj = [m for _, rcpt, m in inbox.messages if rcpt == ["qmj.member@nhs.invalid"]]
        [email] = to_qmj
        assert email["Subject"] == "High alert: 5 alerts, Moorfields Eye Hospital NHS Foundation Trust"
        assert email.get_content().count("exception report: operational delivery failure") == 5
        assert not [m for _, rcpt, m in inbox.messages if rcpt == ["qkk.member@nhs.invalid"]]
        async with store.unit() as uow:
            statuses = set(await uow.session.exec(select(Notification.status)))
            assert statuses == {"delivered"}
            unsent = await uow.session.exec(
                select(AlertAudience).where(col(AlertAudience.notified_at).is_(None))
            )
            assert [a.organisation for a in unsent] == [], "every copy went out"


def _concern() -> TriggerRaisedV2:
    return TriggerRaisedV2.new(
        source="metrics",
        subject="RP6",
        data=TriggerRaisedV2Data(
            trigger_id=uuid4(),
            provider="RP6",
            code="cqc_warning_notice",
            theme=Theme.QUALITY_OF_CARE,
            evidence="CQC warning notice on theatre safety",
            source="exception_report:1",
            framework_paragraph="para 37",
            raised_at=datetime.now(UTC),
            key="cqc_warning_notice",
            cause_for_concern=True,
        ),
    )


async def test_quiet_hours_hold_routine_alerts_for_one_digest_and_urgent_ones_go_at_once(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    london = now.astimezone(ZoneInfo("Europe/London"))
    start, end = (
        (london - timedelta(hours=1)).strftime("%H:%M"),
        (london + timedelta(hours=1)).strftime("%H:%M"),
    )
    with smtp_server() as inbox:
        await _subscribe(store, inbox, "qmj.lead", "QMJ", quiet_start=start, quiet_end=end)
        async with store.unit() as uow:
            for i in range(3):
                await handlers.on_event(uow, _report(i))
            await handlers.on_event(uow, _concern())
        async with store.unit() as uow:
            assert await make_notifications(uow, now + timedelta(seconds=31)) == 2
        async with store.unit() as uow:
            rows = list(await uow.session.exec(select(Notification).order_by(col(Notification.id))))
        assert sorted(n.status for n in rows) == ["held", "pending"], "the urgent one is not held"
        assert await _sender(inbox)(store.unit) == 1
        [urgent] = [m for _, _, m in inbox.messages]
        assert urgent["Subject"].startswith("Urgent alert") and "cause for concern" in urgent["Subject"]

        after = now + timedelta(hours=1, minutes=5)  # the quiet spell is over
        async with store.unit() as uow:
            assert await make_notifications(uow, after) == 1, "one digest"
        async with store.unit() as uow:
            assert await make_notifications(uow, after + timedelta(minutes=1)) == 0, "and only one"
        assert await _sender(inbox)(store.unit) == 1
        digest = inbox.messages[-1][2]
        assert digest["Subject"].startswith("Digest: 3 alerts")
        assert digest.get_content().count("exception report") == 3
