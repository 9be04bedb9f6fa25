"""A support package's whole story, over the real broker, identity provider and PostgreSQL, as the
issue tells it: monthly returns fail the A&E standard → a trigger → a support need → a package
drafted from the catalogue, its exit criteria the pathway step that clears the trigger (from the
segment proposal) → the ICS lead and the regional decider sign off → agreed, resting on the
proposal → the trust acknowledges → delivery → a month off the KPI's trajectory publishes
milestone_missed → two better months clear the trigger → monitoring proposes exit → the regional
decider confirms it → exited.

UCLH (RRV, North Central London) is the provider: no other test reports for it.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from oversight_contracts import (
    SupportPackageExited,
    SupportPackageExitProposed,
    SupportPackageMilestoneMissed,
)
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import eventually, read_events
from tests.support.periods import months_ago
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

PROVIDER = "RRV"
AE = "operational_standard_failed:op_ae_4hr_pct"
RUN = uuid4().hex[:12]


class Team:
    """One signed-in user's calls."""

    def __init__(self, platform: RunningPlatform, oidc: RunningIssuer, user: str) -> None:
        self.platform = platform
        self.base = f"{platform.url('support-coordination')}/v1/support-packages"
        self.client = httpx.AsyncClient(timeout=10, headers=oidc.headers(user))

    async def submit(self, period: str, ae: float) -> None:
        response = await self.client.post(
            f"{self.platform.url('ingest')}/v1/submissions",
            json={
                "provider": PROVIDER,
                "period": period,
                "observations": [
                    {"metric": "op_ae_4hr_pct", "value": ae},
                    {"metric": "op_rtt_18wk_pct", "value": 93.0},
                ],
            },
        )
        assert response.status_code == 202, response.text

    async def act(self, package: str, action: str, reason: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"action": action} | ({"reason": reason} if reason else {})
        response = await self.client.post(
            f"{self.base}/{package}/actions", json=body, headers={"Idempotency-Key": f"{RUN}-{action}"}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def package(self, package: str) -> dict[str, Any]:
        response = await self.client.get(f"{self.base}/{package}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def status_is(self, package: str, status: str) -> dict[str, Any] | None:
        found = await self.package(package)
        return found if found["status"] == status else None


async def _events(kafka: str, event_type: Any, package: str) -> list[Any]:
    return [e for e in await read_events(kafka, event_type, PROVIDER) if str(e.data.package_id) == package]


async def _drafted(trust: Team) -> dict[str, Any]:
    """The A&E need's draft once its exit criteria follow the segment proposal's pathway."""

    async def draft() -> list[dict[str, Any]]:
        response = await trust.client.get(trust.base, params={"provider": PROVIDER})
        return [
            p
            for p in response.json()
            if p["theme"] == "operational_performance"
            and [c["clears"] for c in p["plan"]["exit_criteria"]] == [[AE]]
        ]

    [package] = await eventually(draft)
    return package


async def test_returns_failing_the_ae_standard_lead_to_a_package_agreed_delivered_and_exited(
    platform: RunningPlatform, oidc: RunningIssuer, kafka: str
) -> None:
    trust = Team(platform, oidc, "rrv.submitter")
    ics, region = Team(platform, oidc, "qmj.lead"), Team(platform, oidc, "y56.decider")

    # para 48: A&E 4-hour below 95% in two consecutive months raises the trigger.
    await trust.submit(months_ago(6), 88.0)
    await trust.submit(months_ago(5), 87.0)
    drafted = await _drafted(trust)
    package = drafted["id"]
    [criterion] = drafted["plan"]["exit_criteria"]
    assert "clears operational_standard_failed" in criterion["description"]
    assert criterion["source"].startswith("pathway of segment proposal"), "seed 001: a clear pathway out"
    assert drafted["plan"]["plan_items"] and all(i["offer"] for i in drafted["plan"]["plan_items"])

    kpi = {
        "metric": "op_ae_4hr_pct",
        "direction": "higher_is_better",
        "baseline": 87.0,
        "trajectory": [
            {"period": months_ago(4), "target": 90.0},
            {"period": months_ago(3), "target": 92.0},
            {"period": months_ago(2), "target": 95.0},
        ],
    }
    edit = await ics.client.patch(
        f"{ics.base}/{package}", json={"kpis": [kpi]}, headers={"Idempotency-Key": f"{RUN}-kpi"}
    )
    assert edit.status_code == 200, edit.text
    await ics.act(package, "propose")
    await ics.act(package, "sign_off")
    agreed = await region.act(package, "sign_off")
    assert agreed["status"] == "agreed"
    basis = agreed["basis"]
    assert basis["proposal_id"] == criterion["source"].split()[4], "agreed on the proposal it names"
    assert any("clears operational_standard_failed" in step for step in basis["pathway"])
    await trust.act(package, "acknowledge")
    assert (await region.act(package, "start_delivery"))["status"] == "in_delivery"

    # A month below its trajectory's target: a missed milestone, reported once, no escalation yet.
    await trust.submit(months_ago(4), 85.0)
    [missed] = await eventually(lambda: _events(kafka, SupportPackageMilestoneMissed, package))
    assert (missed.data.kind, missed.data.metric, missed.data.period) == (
        "kpi",
        "op_ae_4hr_pct",
        months_ago(4),
    )
    assert (missed.data.target, missed.data.actual, missed.data.consecutive) == (90.0, 85.0, 1)
    assert missed.data.actor is None, "monitoring, not a person"

    # Two months within the standard (and on trajectory): the trigger clears, so every exit
    # criterion holds and monitoring proposes exit; the regional decider confirms it.
    await trust.submit(months_ago(3), 96.0)
    await trust.submit(months_ago(2), 96.5)
    await eventually(lambda: ics.status_is(package, "exit_proposed"))
    [exit_event] = await eventually(lambda: _events(kafka, SupportPackageExitProposed, package))
    assert AE in (exit_event.data.reason or ""), exit_event.data

    exited = await region.act(package, "confirm_exit", reason="A&E standard met two months running")
    assert exited["status"] == "exited"
    [done] = await eventually(lambda: _events(kafka, SupportPackageExited, package))
    assert done.data.actor is not None and done.data.actor.user_id == "y56.decider"

    timeline = (await ics.client.get(f"{ics.base}/{package}/timeline")).json()
    # Monitoring's edit of the draft's exit criteria is there unless the proposal arrived before
    # the need (topics are not ordered among themselves): then the draft was drafted with them.
    kinds = [e["type"] for e in timeline if (e["type"], e["actor"]) != ("edited", None)]
    story = ["drafted", "edited", "proposed", "signed_off", "signed_off", "agreed", "acknowledged"]
    story += ["delivery_started", "milestone_missed", "exit_proposed", "exited"]
    assert kinds == story[::-1], "every change, newest first"
    by_monitoring = [e["type"] for e in timeline if e["actor"] is None and e["type"] != "edited"]
    assert by_monitoring == ["exit_proposed", "milestone_missed", "drafted"]
    assert (await ics.package(package))["version"] == exited["version"]
