"""The thin flow end to end, only through Kafka: exception report in, alert out.

ingest -> exception_report.received -> metrics -> trigger.raised -> segmentation ->
support_need.identified -> support-coordination -> support_package.proposed -> notification.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

import httpx
import pytest

from oversight_contracts import (
    ExceptionReportReceivedV2,
    SupportNeedIdentifiedV2,
    SupportPackageProposedV2,
    TriggerRaisedV2,
)
from tests.support.alerts import all_alerts
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import eventually, read_topic
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

PROVIDER = "RJ1"  # Guy's and St Thomas' NHS Foundation Trust, South East London ICB, London


def _spans(trace_file: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in trace_file.read_text().splitlines() if line.strip()]


async def test_exception_report_becomes_an_alert_for_the_ics_and_region(
    platform: RunningPlatform, kafka: str, oidc: RunningIssuer
) -> None:
    report = {
        "provider": PROVIDER,
        "category": "qualified_audit_risk",
        "summary": "External auditors signal a possible qualified opinion on going concern.",
        "occurred_on": date.today().isoformat(),
    }
    async with httpx.AsyncClient(timeout=10) as client:
        accepted = await client.post(
            f"{platform.url('ingest')}/v1/exception-reports",
            json=report,
            headers=oidc.headers("rj1.submitter"),
        )
        assert accepted.status_code == 202, accepted.text
        correlation_id = accepted.json()["correlation_id"]
        assert accepted.headers["X-Correlation-ID"] == correlation_id

        async def alert_for_report() -> list[dict[str, Any]]:
            alerts = await all_alerts(
                client, platform.url("notification"), oidc.headers("qkk.member"), provider=PROVIDER
            )
            mine = [a for a in alerts if a["correlation_id"] == correlation_id]
            return mine if "support_package.proposed" in {a["kind"] for a in mine} else []

        alerts = await eventually(alert_for_report, timeout=90)

    # Each step that needs a person is an alert, all addressed to the provider's ICB and its
    # region from the registry, under one correlation id.
    kinds = {a["kind"] for a in alerts}
    assert {"exception_report.received", "trigger.raised", "support_package.proposed"} <= kinds
    assert all(a["audiences"] == ["QKK", "Y56"] for a in alerts)
    [alert] = [a for a in alerts if a["kind"] == "support_package.proposed"]
    assert "draft support package" in alert["title"]
    assert "finance and use of resources" in alert["title"]

    # One correlation id across every event of the chain, each caused by the one before.
    chain = []
    for event_type in (
        ExceptionReportReceivedV2,
        TriggerRaisedV2,
        SupportNeedIdentifiedV2,
        SupportPackageProposedV2,
    ):
        records = await read_topic(kafka, event_type.topic())
        events = [event_type.model_validate_json(r.value) for r in records]
        mine = [e for e in events if str(e.correlation_id) == correlation_id]
        assert len({e.id for e in mine}) == 1, f"{event_type.event_type()}: {mine}"
        assert all(
            r.key == PROVIDER.encode() for r in records if json.loads(r.value)["id"] == str(mine[0].id)
        )
        chain.append(mine[0])
    assert chain[0].causation_id is None
    assert chain[0].data.actor.user_id == "rj1.submitter"  # who reported it: from the token
    assert (chain[0].data.actor.organisation, chain[0].data.actor.role) == ("RJ1", "trust_submitter")
    for cause, effect in itertools.pairwise(chain):
        assert effect.causation_id == cause.id

    # One trace spanning the five services.
    async def trace_across_services() -> set[str]:
        spans = _spans(platform.trace_file)
        trace_ids = {
            s["context"]["trace_id"]
            for s in spans
            if s["resource"]["attributes"]["service.name"] == "ingest"
            and s["name"].startswith("POST /v1/exception-reports")
        }
        services: set[str] = set()
        for trace_id in trace_ids:
            in_trace = {
                s["resource"]["attributes"]["service.name"]
                for s in spans
                if s["context"]["trace_id"] == trace_id
            }
            if "notification" in in_trace:
                services |= in_trace
        return services if len(services) == 5 else set()

    services = await eventually(trace_across_services, timeout=30)
    assert services == {"ingest", "metrics", "segmentation", "support-coordination", "notification"}


async def test_alert_arrives_on_the_live_stream(platform: RunningPlatform, oidc: RunningIssuer) -> None:
    """The server-sent-event stream delivers a new alert to the ICB watching it."""
    import httpx_sse

    report = {
        "provider": "RJZ",
        "category": "cqc_warning_notice",
        "summary": "CQC warning notice served on maternity services.",
        "occurred_on": date.today().isoformat(),
    }
    async with httpx.AsyncClient(timeout=90) as client:
        latest = await all_alerts(client, platform.url("notification"), oidc.headers("qkk.member"))
        last_id = max([a["id"] for a in latest], default=0)
        posted = await client.post(
            f"{platform.url('ingest')}/v1/exception-reports",
            json=report,
            headers=oidc.headers("rjz.submitter"),
        )
        assert posted.status_code == 202, posted.text
        correlation_id = posted.json()["correlation_id"]
        async with httpx_sse.aconnect_sse(
            client,
            "GET",
            f"{platform.url('notification')}/v1/alerts/stream",
            params={"audience": "QKK"},
            headers=oidc.headers("qkk.member", **{"Last-Event-ID": str(last_id)}),
        ) as source:
            async for sse in source.aiter_sse():
                alert = json.loads(sse.data)
                if alert["correlation_id"] == correlation_id and alert["kind"] == "support_package.proposed":
                    break
    assert sse.event == "alert"
    assert alert["provider"] == "RJZ"
    assert "QKK" in alert["audiences"]
    assert "quality of care" in alert["title"]
