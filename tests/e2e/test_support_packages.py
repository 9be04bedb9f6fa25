"""A support package from a need to delivery, over the real broker, identity provider and
PostgreSQL: drafted from the catalogue, shaped, put forward, signed off by the ICS lead and the
regional decider, acknowledged by the trust, delivered; refusals change nothing."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import httpx

from oversight_contracts import SupportPackageAgreed
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import eventually, read_events
from tests.support.platform import RunningPlatform

RUN = uuid4().hex[:12]  # idempotency keys of this run: a rerun on the same platform starts afresh
REPORT = {
    "provider": "RAL",
    "category": "operational_delivery_failure",
    "summary": "Emergency department closed to ambulances for 12 hours: flow out of the hospital stalled.",
    "occurred_on": date.today().isoformat(),
}


class Desk:
    """One signed-in user's calls to support coordination."""

    def __init__(self, platform: RunningPlatform, oidc: RunningIssuer, user: str) -> None:
        self.base = f"{platform.url('support-coordination')}/v1"
        self.client = httpx.AsyncClient(timeout=10, headers=oidc.headers(user))

    async def act(self, package: str, action: str, key: str, reason: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"action": action} | ({"reason": reason} if reason else {})
        return await self.client.post(
            f"{self.base}/support-packages/{package}/actions",
            json=body,
            headers={"Idempotency-Key": f"{RUN}-{key}"},
        )

    async def package(self, package: str) -> dict[str, Any]:
        response = await self.client.get(f"{self.base}/support-packages/{package}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def _drafted(platform: RunningPlatform, oidc: RunningIssuer) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10, headers=oidc.headers("ral.submitter")) as client:
        posted = await client.post(f"{platform.url('ingest')}/v1/exception-reports", json=REPORT)
        assert posted.status_code == 202, posted.text

        async def draft() -> list[dict[str, Any]]:
            response = await client.get(
                f"{platform.url('support-coordination')}/v1/support-packages", params={"provider": "RAL"}
            )
            return [p for p in response.json() if p["theme"] == "operational_performance"]

        [package] = await eventually(draft)
        return package


async def test_a_package_goes_from_a_need_to_delivery_agreed_by_the_ics_and_the_region(
    platform: RunningPlatform, oidc: RunningIssuer, kafka: str
) -> None:
    drafted = await _drafted(platform, oidc)
    plan = drafted["plan"]
    assert drafted["status"] == "draft" and drafted["icbs"] == ["QMJ"] and drafted["region"] == "Y56"
    assert plan["plan_items"] and all(item["offer"] for item in plan["plan_items"]), (
        "drafted from the catalogue"
    )
    assert plan["exit_criteria"] and plan["review_dates"]
    package = drafted["id"]
    ics, region = Desk(platform, oidc, "qmj.lead"), Desk(platform, oidc, "y56.decider")
    other_ics, trust = Desk(platform, oidc, "qkk.lead"), Desk(platform, oidc, "ral.submitter")

    case = (await ics.client.get(f"{ics.base}/support-cases/{drafted['case_id']}")).json()
    assert drafted["need_id"] in [n["need_id"] for n in case["needs"]] and package in case["packages"]

    kpi = {
        "metric": "op_ae_4hr_pct",
        "direction": "higher_is_better",
        "baseline": 68.0,
        "trajectory": [{"period": "2027-01", "target": 72.0}, {"period": "2027-02", "target": 76.0}],
    }
    edit = await ics.client.patch(
        f"{ics.base}/support-packages/{package}",
        json={"kpis": [kpi]},
        headers={"Idempotency-Key": f"{RUN}-edit-kpi"},
    )
    assert edit.status_code == 200, edit.text
    again = await ics.client.patch(
        f"{ics.base}/support-packages/{package}",
        json={"kpis": [kpi]},
        headers={"Idempotency-Key": f"{RUN}-edit-kpi"},
    )
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == edit.json()
    assert (await ics.package(package))["version"] == edit.json()["version"], "a replay changes nothing"

    assert (await ics.act(package, "propose", "put-forward-1")).status_code == 200

    before = await ics.package(package)
    refused = await other_ics.act(package, "sign_off", "other-ics-1")
    assert refused.status_code == 403 and "outside what QKK oversees" in refused.text
    assert await ics.package(package) == before, "a refused sign-off changes nothing"

    signed = await ics.act(package, "sign_off", "ics-sign-1")
    assert signed.status_code == 200 and signed.json()["status"] == "proposed"
    agreed = await region.act(package, "sign_off", "region-sign-1")
    assert agreed.status_code == 200 and agreed.json()["status"] == "agreed", agreed.text
    assert agreed.json()["basis"]["framework_pack"], "what the agreement rests on is frozen into it"

    assert (await trust.act(package, "acknowledge", "ack-1")).status_code == 200
    comment = await trust.act(package, "comment", "comment-1", reason="We will report flow weekly.")
    assert comment.status_code == 200
    wrong = await region.act(package, "confirm_exit", "exit-too-soon")
    assert wrong.status_code == 422 and "agreed" in wrong.text and "start_delivery" in wrong.text
    delivering = await region.act(package, "start_delivery", "deliver-1")
    assert delivering.status_code == 200 and delivering.json()["status"] == "in_delivery"

    timeline = (await ics.client.get(f"{ics.base}/support-packages/{package}/timeline")).json()
    kinds = [entry["type"] for entry in timeline]
    assert kinds[0] == "delivery_started" and kinds[-1] == "drafted", "newest first"
    assert {"edited", "proposed", "signed_off", "agreed", "acknowledged", "commented"} <= set(kinds)
    signers = {e["actor"]["user_id"] for e in timeline if e["type"] == "signed_off"}
    assert signers == {"qmj.lead", "y56.decider"}, "who acted comes from the token"

    [event] = await eventually(lambda: _agreed(kafka, package), timeout=30)
    assert event.data.actor is not None and event.data.actor.user_id == "y56.decider"
    assert event.data.status == "agreed" and event.data.basis.framework_pack


async def _agreed(kafka: str, package: str) -> list[SupportPackageAgreed]:
    events = await read_events(kafka, SupportPackageAgreed, provider="RAL")
    return [e for e in events if str(e.data.package_id) == package]
