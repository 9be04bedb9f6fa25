"""A support package from a need to delivery, over the real broker, identity provider and
PostgreSQL: drafted from the catalogue, shaped, put forward, signed off by the ICS lead and the
regional decider, acknowledged by the trust, delivered; refusals change nothing. Two needs of one
provider marked as sharing an underlying cause get one plan item addressing both (para 33)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import httpx

from oversight_contracts import SupportPackageAgreed, SupportPackageEdited
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
            return [
                p for p in response.json() if p["theme"] == "operational_performance" and _follows_pathway(p)
            ]

        [package] = await eventually(draft)
        return package


def _follows_pathway(package: dict[str, Any]) -> bool:
    """Whether the draft's exit criteria come from the segment proposal's pathway (seed 001),
    which reaches support coordination after the need: tests that compare a package before and
    after a refusal wait for it, so monitoring's edit cannot land in between."""
    criteria = package["plan"]["exit_criteria"]
    return bool(criteria) and all(c["source"].startswith("pathway of segment proposal") for c in criteria)


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
    assert [c["clears"] for c in plan["exit_criteria"]] == [["exception_report:operational_delivery_failure"]]
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
    unknown = await ics.client.patch(
        f"{ics.base}/support-packages/{package}",
        json={"kpis": [kpi | {"metric": "not_a_metric"}]},
        headers={"Idempotency-Key": f"{RUN}-edit-unknown-kpi"},
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "kpis", 0, "metric"]
    assert (await ics.package(package))["version"] == drafted["version"], "a refused edit changes nothing"
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
    basis = agreed.json()["basis"]
    assert basis["framework_pack"] and basis["proposal_id"], "what the agreement rests on is frozen into it"
    assert any("exception_report" in step for step in basis["pathway"]) and basis["trigger_ids"]

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


#: Two exception reports of London Ambulance Service (no other e2e test reports for RRU), in two
#: themes: operational performance and leadership and improvement capability.
RRU_REPORTS = [
    {
        "provider": "RRU",
        "category": "operational_delivery_failure",
        "summary": "Category 2 response times doubled over a weekend: too few crews on the road.",
        "occurred_on": date.today().isoformat(),
    },
    {
        "provider": "RRU",
        "category": "reporting_non_compliance",
        "summary": "The monthly workforce return was not sent: the rota team has three vacancies.",
        "occurred_on": date.today().isoformat(),
    },
]
RRU_THEMES = ("operational_performance", "leadership_and_improvement_capability")
CAUSE = "Workforce: too few paramedics and rota staff, so crews and returns both fall short."


async def _two_needs(platform: RunningPlatform, oidc: RunningIssuer) -> list[dict[str, Any]]:
    """RRU's two drafted packages, operational performance first."""
    async with httpx.AsyncClient(timeout=10, headers=oidc.headers("rru.submitter")) as client:
        for report in RRU_REPORTS:
            posted = await client.post(f"{platform.url('ingest')}/v1/exception-reports", json=report)
            assert posted.status_code == 202, posted.text

        async def drafts() -> list[dict[str, Any]] | None:
            response = await client.get(
                f"{platform.url('support-coordination')}/v1/support-packages", params={"provider": "RRU"}
            )
            by_theme = {p["theme"]: p for p in response.json() if _follows_pathway(p)}
            return [by_theme[t] for t in RRU_THEMES] if set(RRU_THEMES) <= set(by_theme) else None

        found: list[dict[str, Any]] = await eventually(drafts)
        return found


async def test_needs_sharing_a_cause_get_one_plan_item_agreed_by_the_teams_not_the_trust(
    platform: RunningPlatform, oidc: RunningIssuer, kafka: str
) -> None:
    ops, leadership = await _two_needs(platform, oidc)
    assert ops["case_id"] == leadership["case_id"], "one case per provider"
    case_id, needs = ops["case_id"], [ops["need_id"], leadership["need_id"]]
    ics, trust = Desk(platform, oidc, "qmj.lead"), Desk(platform, oidc, "rru.submitter")
    cases = f"{ics.base}/support-cases/{case_id}"

    async def shared_cause(desk: Desk, body: dict[str, Any], key: str) -> httpx.Response:
        return await desk.client.post(
            f"{cases}/shared-causes", json=body, headers={"Idempotency-Key": f"{RUN}-{key}"}
        )

    async def everything() -> tuple[Any, ...]:
        case = (await ics.client.get(cases)).json()
        return case, await ics.package(ops["id"]), await ics.package(leadership["id"])

    # Peers: London Ambulance Service is the only ambulance trust of London, so none is suggested.
    peers = await ics.client.get(f"{ics.base}/support-packages/{ops['id']}/peers")
    assert peers.status_code == 200 and peers.json() == [], peers.text
    # A named peer must be a provider the registry knows, other than the package's own.
    item = {"action": "Buddy with a peer's rota team", "needs": [ops["need_id"]], "owner": "Y56"}
    items = [*ops["plan"]["plan_items"], item | {"peer": "RRU"}]
    own = await ics.client.patch(
        f"{ics.base}/support-packages/{ops['id']}",
        json={"plan_items": items},
        headers={"Idempotency-Key": f"{RUN}-peer-own"},
    )
    assert own.status_code == 422, own.text
    assert own.json()["detail"][0]["loc"] == ["body", "plan_items", len(items) - 1, "peer"]

    before = await everything()
    body = {"need_ids": needs, "cause": CAUSE}
    refused = await shared_cause(trust, body, "shared-trust")
    assert refused.status_code == 403 and "para 33" in refused.text, refused.text
    bad = [
        ({"need_ids": [needs[0], str(uuid4())], "cause": CAUSE}, 422, ["body", "need_ids", 1]),
        ({"need_ids": [needs[0], needs[0]], "cause": CAUSE}, 422, ["body", "need_ids"]),
        ({"need_ids": needs[:1], "cause": CAUSE}, 422, ["body", "need_ids"]),
        ({"need_ids": needs, "cause": ""}, 422, ["body", "cause"]),
    ]
    for i, (wrong, status, loc) in enumerate(bad):
        answer = await shared_cause(ics, wrong, f"shared-bad-{i}")
        assert answer.status_code == status and answer.json()["detail"][0]["loc"] == loc, answer.text
    unknown = await ics.client.post(
        f"{ics.base}/support-cases/{uuid4()}/shared-causes",
        json=body,
        headers={"Idempotency-Key": f"{RUN}-shared-unknown"},
    )
    assert unknown.status_code == 404, unknown.text
    assert await everything() == before, "a refused or bad request changes nothing"

    marked = await shared_cause(ics, body, "shared-1")
    assert marked.status_code == 200, marked.text
    case, package = marked.json()["case"], marked.json()["package"]
    assert {n["need_id"]: n["shared_cause"] for n in case["needs"]} == dict.fromkeys(needs, CAUSE)
    addressing_both = [i for i in package["plan"]["plan_items"] if set(i["needs"]) == set(needs)]
    assert package["id"] == ops["id"] and len(addressing_both) == 1, "one item, in the first need's package"
    [shared] = addressing_both
    assert shared["action"] == f"Address the shared cause: {CAUSE}" and shared["owner"] == "Y56"
    assert shared["offer"] is None and shared["peer"] is None
    assert len(package["plan"]["plan_items"]) == len(ops["plan"]["plan_items"]) + 1

    again = await shared_cause(ics, body, "shared-1")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == marked.json()
    after = await everything()
    assert after[0] == case, "the case reads as the answer showed it"
    assert after[1]["version"] == package["version"], "a replay changes nothing"
    assert [n["shared_cause"] for n in after[0]["needs"]] == [CAUSE, CAUSE], "the case shows the cause"
    assert after[2] == before[2], "the other need's package is as it was"

    timeline = (await ics.client.get(f"{ics.base}/support-packages/{ops['id']}/timeline")).json()
    edits = [e for e in timeline if e["type"] == "edited" and e["actor"]]  # people's, not monitoring's
    assert len(edits) == 1 and CAUSE in edits[0]["reason"] and edits[0]["actor"]["user_id"] == "qmj.lead"

    [event] = await eventually(lambda: _edited(kafka, ops["id"]), timeout=30)
    assert event.data.fields_changed == ["plan_items"] and event.data.reason and CAUSE in event.data.reason


async def _edited(kafka: str, package: str) -> list[SupportPackageEdited]:
    events = await read_events(kafka, SupportPackageEdited, provider="RRU")
    return [e for e in events if str(e.data.package_id) == package and e.data.actor is not None]
