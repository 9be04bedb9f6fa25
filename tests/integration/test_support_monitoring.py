"""Monitoring support packages (issue 11 point 6) with support coordination in process on a real
broker and PostgreSQL, signed in through the local OpenID Connect provider.

A need drafts RAP's package; the ICS lead and the regional decider shape it (a KPI trajectory,
a plan item already overdue), agree it and start delivery through the API. Then only events
arrive: metric evaluations off trajectory for two months in a row each report one missed
milestone (a redelivery and a re-evaluation report nothing more) and escalate the package; the
overdue plan item is reported once by the daily check; after re-agreement, the trigger behind
the package clearing proposes exit, and a worse segment escalates it again.

The service gets a broker of its own: it reads its topics from the first offset with a fresh
consumer group, and on the session's shared broker it would replay (and answer) every other
test's triggers, needs and decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oversight_contracts import (
    Envelope,
    SupportPackageEscalated,
    SupportPackageExitProposed,
    SupportPackageMilestoneMissed,
)
from oversight_runtime.settings import ServiceSettings
from oversight_support_coordination.main import create_service
from tests.support.db import count
from tests.support.events import (
    metric_evaluated,
    need_identified,
    operational_trigger,
    segment_decided,
    trigger_cleared,
)
from tests.support.identity import RunningIssuer
from tests.support.infra import load_deploy_module
from tests.support.kafka_io import eventually, produce, read_events

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

PROVIDER = "RAP"  # North Middlesex: ICB QMJ, region Y56; no other test uses it
METRIC = "op_ae_4hr_pct"
LEAD, DECIDER = "qmj.lead", "y56.decider"


@dataclass
class Running:
    client: TestClient
    broker: str
    database: str
    oidc: RunningIssuer

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=self.oidc.headers(user), **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def send(self, *events: Envelope[Any]) -> None:
        for event in events:
            value = event.model_dump_json().encode()
            await produce(self.broker, event.topic(), [(event.subject.encode(), value)])

    async def outbox(self, event_type: type[Envelope[Any]]) -> int:
        return await count(
            self.database,
            f"SELECT count(*) FROM outbox_message WHERE event_type = '{event_type.event_type()}'",
        )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    kafka = load_deploy_module("deploy/kafka/broker.py").KafkaBroker()
    kafka.start(data_dir=tmp_path_factory.mktemp("kafka-monitoring"))
    try:
        yield kafka.bootstrap_servers
    finally:
        kafka.stop()


@pytest.fixture(scope="module")
def support(broker: str, oidc: RunningIssuer, new_database: Callable[[str], str]) -> Iterator[Running]:
    """Support coordination in process; its daily check runs every second here."""
    url = new_database("support_monitoring")
    settings = ServiceSettings(
        service_name="support-coordination",
        kafka_bootstrap_servers=broker,
        database_url=url,
        auth=oidc.auth_settings(),
        daily_job_seconds=1,
        relay_poll_seconds=0.2,
    )
    with TestClient(create_service(settings).app) as client:
        yield Running(client, broker, url, oidc)


async def _events(support: Running, event_type: type[Any]) -> list[Any]:
    return await read_events(support.broker, event_type, PROVIDER)


async def test_a_package_in_delivery_is_monitored(support: Running) -> None:
    # --- a need drafts the package; the ICS and the region agree it and start delivery ---------
    trigger = operational_trigger(PROVIDER, METRIC)
    need = need_identified(trigger)
    await support.send(trigger, need)

    async def drafted() -> list[Any]:
        return support.call(LEAD, "GET", "/v1/support-packages", params={"provider": PROVIDER})

    [package] = await eventually(drafted)
    path = f"/v1/support-packages/{package['id']}"
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    support.call(
        LEAD,
        "PATCH",
        path,
        json={
            "kpis": [
                {
                    "metric": METRIC,
                    "direction": "higher_is_better",
                    "baseline": 71.0,
                    "trajectory": [
                        {"period": "2026-08", "target": 76.0},
                        {"period": "2026-09", "target": 80.0},
                        {"period": "2026-10", "target": 85.0},
                    ],
                }
            ],
            "plan_items": [
                {
                    "action": "Discharge-to-assess with the ICS partners",
                    "needs": [str(need.data.need_id)],
                    "owner": "QMJ",
                    "due": yesterday.isoformat(),
                    "status": "in_progress",
                }
            ],
        },
    )
    for user, action in [
        (LEAD, "propose"),
        (LEAD, "sign_off"),
        (DECIDER, "sign_off"),
        (DECIDER, "start_delivery"),
    ]:
        support.call(user, "POST", f"{path}/actions", json={"action": action})
    assert support.call(LEAD, "GET", path)["status"] == "in_delivery"

    # --- the daily check reports the overdue plan item, once ----------------------------------
    async def plan_item_missed() -> list[Any]:
        return [
            e for e in await _events(support, SupportPackageMilestoneMissed) if e.data.kind == "plan_item"
        ]

    [overdue] = await eventually(plan_item_missed)
    assert (overdue.data.due, overdue.data.consecutive, overdue.data.actor) == (yesterday, 1, None)

    # --- a KPI on trajectory, then off it: one missed milestone --------------------------------
    met = metric_evaluated(PROVIDER, METRIC, "2026-08", 77.0)
    first = metric_evaluated(PROVIDER, METRIC, "2026-09", 74.0)
    await support.send(met, first)

    async def kpi_missed() -> list[Any]:
        return [e for e in await _events(support, SupportPackageMilestoneMissed) if e.data.kind == "kpi"]

    [missed] = await eventually(kpi_missed)
    assert (missed.data.period, missed.data.target, missed.data.actual, missed.data.consecutive) == (
        "2026-09",
        80.0,
        74.0,
        1,
    )
    assert missed.causation_id == first.id and missed.correlation_id == first.correlation_id

    # --- the same event redelivered and the month re-evaluated report nothing; a second month
    # off trajectory reports one more and escalates the package ----------------------------------
    revised = metric_evaluated(PROVIDER, METRIC, "2026-09", 75.0, revised=True)
    second = metric_evaluated(PROVIDER, METRIC, "2026-10", 79.0)
    await support.send(first, revised, second)

    async def escalated() -> list[Any]:
        return await _events(support, SupportPackageEscalated)

    [escalation] = await eventually(escalated)
    assert escalation.data.cause == "missed_milestones"
    assert escalation.data.reason == f"{METRIC} missed its trajectory 2 times in a row: 2026-09, 2026-10"
    assert escalation.causation_id == second.id and escalation.data.actor is None
    reported = await kpi_missed()
    assert [(e.data.period, e.data.consecutive, e.causation_id) for e in reported] == [
        ("2026-09", 1, first.id),
        ("2026-10", 2, second.id),
    ]
    # Everything the service ever published, not just what the relay has sent so far.
    assert await support.outbox(SupportPackageMilestoneMissed) == 3  # two KPI months, one plan item
    assert support.call(LEAD, "GET", path)["status"] == "escalated"

    timeline = support.call(LEAD, "GET", f"{path}/timeline")
    by_monitoring = [(t["type"], t["cause_event_id"]) for t in timeline if t["actor"] is None]
    assert by_monitoring[:3] == [
        ("escalated", str(second.id)),
        ("milestone_missed", str(second.id)),
        ("milestone_missed", str(first.id)),
    ]
    assert all(t["correlation_id"] for t in timeline if t["actor"] is None)

    # --- re-agreed, delivery resumes; a trigger the criteria do not name clears: no exit; the
    # package's own trigger clears: exit proposed ------------------------------------------------
    for user in (LEAD, DECIDER):
        support.call(user, "POST", f"{path}/actions", json={"action": "sign_off"})
    assert support.call(LEAD, "GET", path)["status"] == "in_delivery"

    other = operational_trigger(PROVIDER, "op_rtt_18wk_pct", code="operational_deterioration")
    await support.send(other, trigger_cleared(other))

    async def cleared_kept() -> bool:
        sql = "SELECT count(*) FROM provider_trigger WHERE cleared_at IS NOT NULL"
        return await count(support.database, sql) == 1

    await eventually(cleared_kept)
    assert await support.outbox(SupportPackageExitProposed) == 0  # its own trigger is still active

    cleared = trigger_cleared(trigger)
    await support.send(cleared)

    async def exit_proposed() -> list[Any]:
        return await _events(support, SupportPackageExitProposed)

    [proposal] = await eventually(exit_proposed)
    assert proposal.causation_id == cleared.id and proposal.data.actor is None
    assert proposal.data.criteria_met == [c["description"] for c in package["plan"]["exit_criteria"]]
    assert support.call(LEAD, "GET", path)["status"] == "exit_proposed"

    # --- a worse segment escalates it, even with exit proposed --------------------------------
    await support.send(segment_decided(PROVIDER, 2), segment_decided(PROVIDER, 3, previous=2))

    async def escalated_again() -> bool:
        return len(await escalated()) == 2

    await eventually(escalated_again)
    latest = (await escalated())[-1]
    assert (latest.data.cause, latest.data.previous_status) == ("segment_worsened", "exit_proposed")
    assert await support.outbox(SupportPackageMilestoneMissed) == 3  # the daily check said it once
