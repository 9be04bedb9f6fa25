"""The framework's rules over the real broker: returns in, triggers, needs and segments out.

ingest -> submission.received -> metrics (engine) -> trigger.raised / trigger.cleared ->
segmentation -> support_need.identified / resolved and segment.proposed; the regional team's
decision through segmentation's API -> segment.decided. RJ2 is left alone by the other tests.
"""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import httpx
import pytest

from oversight_contracts import (
    SegmentDecidedV2,
    SegmentProposedV2,
    SupportNeedIdentifiedV2,
    SupportNeedResolvedV2,
    TriggerClearedV2,
    TriggerRaisedV2,
    TriggerReviewDueV2,
)
from tests.support.db import count
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import E, eventually, read_events
from tests.support.periods import months_ago
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

PROVIDER = "RJ2"  # Lewisham and Greenwich NHS Trust, South East London ICB
KEY = "operational_standard_failed:op_ae_4hr_pct"


async def _submit(client: httpx.AsyncClient, platform: RunningPlatform, period: str, ae: float) -> None:
    """A return from RJ2's own submitter (the client signs in as them)."""
    response = await client.post(
        f"{platform.url('ingest')}/v1/submissions",
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


async def _events(kafka: str, event_type: type[E]) -> list[E]:
    return await read_events(kafka, event_type, PROVIDER)


async def test_returns_raise_a_trigger_a_need_and_a_segment_proposal_then_clear(
    platform: RunningPlatform, kafka: str, oidc: RunningIssuer
) -> None:
    async with httpx.AsyncClient(timeout=10, headers=oidc.headers("rj2.submitter")) as client:
        # para 48: A&E 4-hour below 95% in two consecutive months.
        await _submit(client, platform, months_ago(4), 91.0)
        await _submit(client, platform, months_ago(3), 89.5)

        async def raised() -> list[TriggerRaisedV2]:
            return [t for t in await _events(kafka, TriggerRaisedV2) if t.data.key == KEY]

        [trigger] = await eventually(raised)
        assert trigger.data.theme.value == "operational_performance"
        assert "para 48" in trigger.data.framework_paragraph

        # With a trigger open, the daily trigger review reaches metrics through the broker.
        async def reviews() -> list[TriggerReviewDueV2]:
            return await _events(kafka, TriggerReviewDueV2)

        review = (await eventually(reviews))[0]
        assert review.data.provider == PROVIDER

        async def review_applied() -> int:
            return await count(
                platform.database_urls["metrics"],
                f"SELECT count(*) FROM processed_event WHERE event_id = '{review.id}'",
            )

        await eventually(review_applied)

        async def proposed() -> list[SegmentProposedV2]:
            return await _events(kafka, SegmentProposedV2)

        [proposal] = await eventually(proposed)
        assert proposal.data.proposed_segment == 2  # Table 2: a need, licence compliant
        assert proposal.data.trigger_keys == [KEY]
        assert proposal.data.pathway[0].clears == [KEY] and proposal.data.pathway[0].segment_after == 1
        assert proposal.correlation_id == trigger.correlation_id
        [need] = [
            n
            for n in await _events(kafka, SupportNeedIdentifiedV2)
            if n.data.trigger_ids == [trigger.data.trigger_id]
        ]
        assert need.data.theme.value == "operational_performance"

        pathway = (await client.get(f"{platform.url('segmentation')}/v1/providers/{PROVIDER}/pathway")).json()
        assert pathway["proposal_id"] == str(proposal.data.proposal_id)
        assert any("para 27" in line for line in pathway["rationale"])

        # The ICS lead gives the system's view; the regional team decides having regard to it
        # (para 27); bad decisions change nothing.
        segmentation = platform.url("segmentation")
        decisions_url = f"{segmentation}/v1/providers/{PROVIDER}/segment-decisions"
        decider = oidc.headers("y56.decider")
        db = platform.database_urls["segmentation"]
        before_view = await client.post(decisions_url, json={"segment": 2, "reason": "r"}, headers=decider)
        assert (
            before_view.status_code == 422 and before_view.json()["detail"][0]["type"] == "ics_view_missing"
        )
        view = {
            "proposal_id": str(proposal.data.proposal_id),
            "recommended_segment": 2,
            "view": "South East London ICB agrees: flow support through the urgent care board",
        }
        recorded = await client.post(
            f"{segmentation}/v1/providers/{PROVIDER}/ics-views", json=view, headers=oidc.headers("qkk.lead")
        )
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["actor"] == {
            "user_id": "qkk.lead",
            "name": "Grace Adeyemi",
            "organisation": "QKK",
            "role": "ics_lead",
        }
        bad = [
            {"segment": 7, "reason": "r"},
            {"segment": 5, "reason": "r"},
            {"segment": 2, "proposal_id": str(uuid4()), "reason": "r"},
            {"segment": 2, "reason": "r", "decided_by": "someone else"},  # who decides is the token's user
            {
                "segment": 2,
                "reason": "r",
                "ics_view": "a view typed by the region",
            },  # views come from ICS leads
        ]
        for body in bad:
            response = await client.post(decisions_url, json=body, headers=decider)
            assert response.status_code == 422, body
            assert response.json()["detail"][0]["loc"][0] == "body"
        assert await count(db, f"SELECT count(*) FROM segment_decision WHERE provider = '{PROVIDER}'") == 0

        decision = {
            "segment": 2,
            "proposal_id": str(proposal.data.proposal_id),
            "reason": "Two months below the A&E standard; targeted support agreed with the trust",
        }
        headers = {**decider, "Idempotency-Key": f"decision-{uuid4()}"}
        first = await client.post(decisions_url, json=decision, headers=headers)
        again = await client.post(decisions_url, json=decision, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"

        async def decided() -> list[SegmentDecidedV2]:
            return await _events(kafka, SegmentDecidedV2)

        [published] = await eventually(decided)
        assert published.data.segment == 2
        assert (published.data.actor.user_id, published.data.actor.role) == (
            "y56.decider",
            "regional_decider",
        )
        assert [(v.icb, v.view, v.actor.user_id) for v in published.data.ics_views] == [
            ("QKK", view["view"], "qkk.lead")
        ]

        # Two months back within the standard: the trigger clears, the need resolves, segment 1.
        await _submit(client, platform, months_ago(2), 96.0)
        await _submit(client, platform, months_ago(1), 96.5)

        async def cleared() -> list[TriggerClearedV2]:
            return [c for c in await _events(kafka, TriggerClearedV2) if c.data.key == KEY]

        [clear] = await eventually(cleared)
        assert clear.data.trigger_id == trigger.data.trigger_id

        async def resolved() -> list[SupportNeedResolvedV2]:
            return await _events(kafka, SupportNeedResolvedV2)

        [resolution] = await eventually(resolved)
        assert resolution.data.need_id == need.data.need_id

        async def back_to_one() -> list[SegmentProposedV2]:
            return [p for p in await _events(kafka, SegmentProposedV2) if p.data.proposed_segment == 1]

        [latest] = await eventually(back_to_one)
        assert latest.data.current_segment == 2 and latest.data.decision_timing == "immediate"

        history = (await client.get(f"{segmentation}/v1/providers/{PROVIDER}/segments")).json()
        assert history["current_segment"] == 2  # a proposal is never a decision
        assert [p["proposed_segment"] for p in history["proposals"]] == [2, 1]
        observations = (
            await client.get(f"{platform.url('metrics')}/v1/providers/{PROVIDER}/observations")
        ).json()
        assert len(observations) == 8


async def test_special_measures_recorded_as_a_fact_proposes_segment_4(
    platform: RunningPlatform, kafka: str, oidc: RunningIssuer
) -> None:
    """Table 2: special measures is segment 4 whatever the triggers; RJ6 is otherwise untouched."""
    async with httpx.AsyncClient(timeout=10, headers=oidc.headers("y56.member")) as client:
        response = await client.post(
            f"{platform.url('ingest')}/v1/provider-facts",
            json={
                "provider": "RJ6",
                "special_measures": "quality",
                "licence": "breach",
                "recorded_on": date.today().isoformat(),
            },
        )
        assert response.status_code == 202, response.text
        empty = await client.post(
            f"{platform.url('ingest')}/v1/provider-facts",
            json={"provider": "RJ6", "recorded_on": date.today().isoformat()},
        )
        assert empty.status_code == 422 and "at least one fact" in empty.text

        async def proposal() -> list[SegmentProposedV2]:
            return await read_events(kafka, SegmentProposedV2, "RJ6")

        [proposed] = await eventually(proposal)
        assert proposed.data.proposed_segment == 4
        assert any("Table 2 (segment 4)" in line for line in proposed.data.rationale)
