"""Signed-in users, roles and scope against the running services and the real OpenID Connect
provider: who may write for whom, who sees what, who decides, and which tokens are refused.

Trusts used here and nowhere else: RAX (South West London) for writes, RPG (South East London)
for a decision; RKE and RPG alerts are compared across two ICSs by correlation id.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import httpx_sse
import pytest

from oversight_contracts import SegmentDecidedV2, SubmissionReceivedV2
from oversight_runtime.demo_identity import fetch_token
from tests.support.alerts import all_alerts
from tests.support.db import count
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import eventually, read_events
from tests.support.periods import months_ago
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

UNPROTECTED = {"/healthz", "/readyz", "/metrics"}


def _example_path(path: str) -> str:
    """A concrete path for a route template: RJ1 for a provider, a fresh UUID for an item."""
    path = path.replace("{ods_code}", "RJ1")
    return re.sub(r"\{[a-z_]+\}", lambda _: str(uuid4()), path)


async def _operations(client: httpx.AsyncClient, url: str) -> list[tuple[str, str]]:
    document = (await client.get(f"{url}/openapi.json")).json()
    return [
        (method.upper(), _example_path(path))
        for path, item in document["paths"].items()
        if path not in UNPROTECTED
        for method in item
    ]


async def test_every_endpoint_refuses_a_call_without_a_valid_token(
    platform: RunningPlatform, oidc: RunningIssuer
) -> None:
    """No token, a malformed one and one from another issuer: 401 with a challenge, everywhere."""
    untrusted = fetch_token(oidc.other_issuer(), "qkk.member")
    tampered = oidc.token("qkk.member")[:-8] + "AAAAAAAA"
    checked = 0
    async with httpx.AsyncClient(timeout=10) as client:
        for service in platform.services:
            for method, path in await _operations(client, platform.url(service)):
                for headers in (
                    {},
                    {"Authorization": "Bearer nonsense"},
                    {"Authorization": f"Bearer {untrusted}"},
                    {"Authorization": f"Bearer {tampered}"},
                ):
                    response = await client.request(
                        method, platform.url(service) + path, headers=headers, json={}
                    )
                    assert response.status_code == 401, (service, method, path, headers.keys(), response.text)
                    assert response.headers["WWW-Authenticate"].startswith("Bearer")
                    checked += 1
    assert checked >= 4 * 15  # every route of the five services, four ways


async def test_a_trust_submits_for_itself_only(
    platform: RunningPlatform, oidc: RunningIssuer, kafka: str
) -> None:
    ingest = f"{platform.url('ingest')}/v1/submissions"
    db = platform.database_urls["ingest"]
    body = {
        "provider": "RAX",
        "period": months_ago(2),
        "observations": [{"metric": "op_ae_4hr_pct", "value": 93.1}],
    }
    async with httpx.AsyncClient(timeout=10) as client:
        own = await client.post(ingest, json=body, headers=oidc.headers("rax.submitter"))
        assert own.status_code == 202, own.text
        assert own.json()["actor"]["user_id"] == "rax.submitter"
        stored = await count(db, "SELECT count(*) FROM submission WHERE provider = 'RAX'")
        outbox = await count(db, "SELECT count(*) FROM outbox_message")

        for user in ("rj1.submitter", "rj1.viewer", "qkk.member", "y56.decider", "national.viewer"):
            other = await client.post(ingest, json=body, headers=oidc.headers(user))
            assert other.status_code == 403, (user, other.text)
        assert await count(db, "SELECT count(*) FROM submission WHERE provider = 'RAX'") == stored
        assert await count(db, "SELECT count(*) FROM outbox_message") == outbox

    async def published() -> list[SubmissionReceivedV2]:
        return await read_events(kafka, SubmissionReceivedV2, "RAX")

    events = await eventually(published)
    assert [e.data.actor.user_id for e in events] == ["rax.submitter"]  # nothing from the refused ones


async def _alert_for(
    client: httpx.AsyncClient, platform: RunningPlatform, viewer: dict[str, str], correlation: str
) -> Any:
    async def found() -> list[dict[str, Any]]:
        alerts = await all_alerts(client, platform.url("notification"), viewer)
        return [a for a in alerts if a["correlation_id"] == correlation]

    return (await eventually(found, timeout=90))[0]


async def _report(
    client: httpx.AsyncClient, platform: RunningPlatform, oidc: RunningIssuer, provider: str
) -> str:
    report = {
        "provider": provider,
        "category": "material_reputational_issue",
        "summary": f"Access test: national press coverage at {provider}.",
        "occurred_on": date.today().isoformat(),
    }
    user = f"{provider.lower()}.submitter"
    posted = await client.post(
        f"{platform.url('ingest')}/v1/exception-reports", json=report, headers=oidc.headers(user)
    )
    assert posted.status_code == 202, posted.text
    return str(posted.json()["correlation_id"])


async def test_an_ics_sees_its_own_providers_only_in_reads_lists_and_the_live_stream(
    platform: RunningPlatform, oidc: RunningIssuer
) -> None:
    """RKE belongs to North Central London (QMJ), RPG to South East London (QKK); no other test
    reports for either, so each report opens a need, a package and an alert of its own."""
    national, qkk, qmj = (
        oidc.headers("national.viewer"),
        oidc.headers("qkk.member"),
        oidc.headers("qmj.member"),
    )
    notification = platform.url("notification")
    async with httpx.AsyncClient(timeout=90) as client:
        rke = await _alert_for(client, platform, national, await _report(client, platform, oidc, "RKE"))
        rpg = await _alert_for(client, platform, national, await _report(client, platform, oidc, "RPG"))
        assert rke["id"] < rpg["id"]  # RPG's was posted once RKE's alert existed

        # Reads about one provider: its own ICS's users, not another's.
        for service, path in (
            ("metrics", "triggers"),
            ("segmentation", "support-needs"),
            ("segmentation", "pathway"),
        ):
            assert (
                await client.get(f"{platform.url(service)}/v1/providers/RPG/{path}", headers=qkk)
            ).status_code == 200
            refused = await client.get(f"{platform.url(service)}/v1/providers/RKE/{path}", headers=qkk)
            assert refused.status_code == 403 and refused.json()["detail"][0]["type"] == "out_of_scope"
        rke_alerts = await all_alerts(client, notification, qmj, provider="RKE")
        assert rke["id"] in {a["id"] for a in rke_alerts}, "QMJ sees RKE's alerts"
        assert (
            await client.get(f"{notification}/v1/alerts", params={"provider": "RKE"}, headers=qkk)
        ).status_code == 403

        # Lists: whatever audience is asked for, only the caller's providers come back.
        for audience in (None, "QKK", "QMJ", "Y56"):
            params = {"after": rke["id"] - 1} | ({"audience": audience} if audience else {})
            listed = await all_alerts(client, notification, qkk, **params)
            assert "RKE" not in {a["provider"] for a in listed}, audience
            if audience != "QMJ":  # RPG's alert is addressed to QKK and Y56
                assert rpg["id"] in {a["id"] for a in listed}, audience

        # The live stream, from just before RKE's alert: RPG's arrives, RKE's never does.
        seen: list[dict[str, Any]] = []
        async with httpx_sse.aconnect_sse(
            client,
            "GET",
            f"{notification}/v1/alerts/stream",
            params={"audience": "Y56"},
            headers={**qkk, "Last-Event-ID": str(rke["id"] - 1)},
        ) as source:
            async for sse in source.aiter_sse():
                seen.append(json.loads(sse.data))
                if seen[-1]["id"] >= rpg["id"]:
                    break
    assert rpg["id"] in [a["id"] for a in seen]
    assert all(a["provider"] != "RKE" for a in seen)
    assert all(a["provider"] in {"RJ1", "RJZ", "RJ2", "RV5", "RPG", "RRU"} for a in seen)


async def test_a_trust_reads_its_own_position_but_no_other_and_no_alert_stream(
    platform: RunningPlatform, oidc: RunningIssuer
) -> None:
    viewer = oidc.headers("rj1.viewer")
    async with httpx.AsyncClient(timeout=10) as client:
        own = await client.get(f"{platform.url('segmentation')}/v1/providers/RJ1/pathway", headers=viewer)
        other = await client.get(f"{platform.url('segmentation')}/v1/providers/RJZ/pathway", headers=viewer)
        alerts = await client.get(f"{platform.url('notification')}/v1/alerts", headers=viewer)
    assert own.status_code == 200 and other.status_code == 403
    assert alerts.status_code == 403 and alerts.json()["detail"][0]["type"] == "action_not_permitted"


async def test_only_a_regional_decider_of_the_providers_region_decides_and_the_event_names_them(
    platform: RunningPlatform, oidc: RunningIssuer, kafka: str
) -> None:
    segmentation = platform.url("segmentation")
    decisions = f"{segmentation}/v1/providers/RPG/segment-decisions"
    db = platform.database_urls["segmentation"]
    async with httpx.AsyncClient(timeout=10) as client:
        view = {
            "view": "Oxleas: the system supports segment 2 while the community plan lands.",
            "recommended_segment": 2,
        }
        for user in ("qkk.member", "y56.decider", "qmj.member"):
            refused = await client.post(
                f"{segmentation}/v1/providers/RPG/ics-views", json=view, headers=oidc.headers(user)
            )
            assert refused.status_code == 403, user
        given = await client.post(
            f"{segmentation}/v1/providers/RPG/ics-views", json=view, headers=oidc.headers("qkk.lead")
        )
        assert given.status_code == 201, given.text

        decision = {"segment": 2, "reason": "Targeted support for the community mental health plan."}
        for user, why in (
            ("y56.member", "action_not_permitted"),
            ("qkk.lead", "action_not_permitted"),
            ("rj1.submitter", "action_not_permitted"),
            ("national.viewer", "action_not_permitted"),
            ("y59.decider", "out_of_scope"),
        ):  # y59: a decider, but of the South East
            refused = await client.post(decisions, json=decision, headers=oidc.headers(user))
            assert refused.status_code == 403 and refused.json()["detail"][0]["type"] == why, (
                user,
                refused.text,
            )
        assert await count(db, "SELECT count(*) FROM segment_decision WHERE provider = 'RPG'") == 0

        decided = await client.post(decisions, json=decision, headers=oidc.headers("y56.decider"))
        assert decided.status_code == 201, decided.text

    async def published() -> list[SegmentDecidedV2]:
        return await read_events(kafka, SegmentDecidedV2, "RPG")

    [event] = await eventually(published)
    assert event.data.actor.model_dump() == {
        "user_id": "y56.decider",
        "name": "Helen Wright",
        "organisation": "Y56",
        "role": "regional_decider",
    }
    assert [(v.icb, v.actor.user_id) for v in event.data.ics_views] == [("QKK", "qkk.lead")]


async def test_items_by_id_outside_the_scope_are_403(platform: RunningPlatform, oidc: RunningIssuer) -> None:
    ingest = platform.url("ingest")
    async with httpx.AsyncClient(timeout=10) as client:
        report = {
            "provider": "RJ1",
            "category": "material_reputational_issue",
            "summary": "scope check",
            "occurred_on": date.today().isoformat(),
        }
        posted = await client.post(
            f"{ingest}/v1/exception-reports", json=report, headers=oidc.headers("rj1.submitter")
        )
        report_id = posted.json()["id"]
        for user, status in (
            ("rj1.viewer", 200),
            ("qkk.member", 200),
            ("y56.member", 200),
            ("national.viewer", 200),
            ("qmj.member", 403),
            ("ral.submitter", 403),
            ("y59.decider", 403),
        ):
            read = await client.get(f"{ingest}/v1/exception-reports/{report_id}", headers=oidc.headers(user))
            assert read.status_code == status, user
        missing = await client.get(
            f"{ingest}/v1/exception-reports/{uuid4()}", headers=oidc.headers("qmj.member")
        )
        assert missing.status_code == 404
