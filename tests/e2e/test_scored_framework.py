"""The 2025/26 scored pack as the active framework, over a real broker of its own.

ingest -> submission.received -> metrics scores every metric 1.00-4.00 and publishes
metric_scores.calculated -> segmentation proposes the segment the mean score gives, held at 3 or
below while the provider is in deficit (NOF 2025/26; cut-offs are the pack's chosen defaults).
"""

from __future__ import annotations

import httpx
import pytest

from oversight_contracts import MetricScoresCalculatedV2, SegmentProposedV2
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import E, eventually, read_events
from tests.support.periods import months_ago
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

PROVIDER = "RJ1"


async def _submit(client: httpx.AsyncClient, platform: RunningPlatform, period: str, **values: float) -> None:
    response = await client.post(
        f"{platform.url('ingest')}/v1/submissions",
        json={
            "provider": PROVIDER,
            "period": period,
            "observations": [{"metric": m, "value": v} for m, v in values.items()],
        },
    )
    assert response.status_code == 202, response.text


async def _events(kafka: str, event_type: type[E]) -> list[E]:
    return await read_events(kafka, event_type)


async def _proposal_where(kafka: str, segment: int, mean: str, also: str = "") -> SegmentProposedV2:
    """The proposal of ``segment`` whose rationale gives the mean score ``mean`` (and ``also``).

    Triggers and scores travel on different topics, so proposals are matched by what they say,
    not by their position.
    """

    def says(proposal: SegmentProposedV2) -> bool:
        text = " ".join(proposal.data.rationale)
        return (
            proposal.data.proposed_segment == segment and f"Mean metric score {mean}" in text and also in text
        )

    async def found() -> list[SegmentProposedV2]:
        return [p for p in await _events(kafka, SegmentProposedV2) if says(p)]

    proposals: list[SegmentProposedV2] = await eventually(found)
    return proposals[0]


async def test_the_mean_score_sets_the_segment_and_a_deficit_holds_it_at_3(
    scored_platform: RunningPlatform, scored_kafka: str, oidc: RunningIssuer
) -> None:
    async with httpx.AsyncClient(timeout=10, headers=oidc.headers("rj1.submitter")) as client:
        # A&E at 61% and RTT at 38% score 4.00 (the worst of their bands); a 1.5% surplus scores 1.00.
        await _submit(
            client,
            scored_platform,
            months_ago(2),
            op_ae_4hr_pct=61.0,
            op_rtt_18wk_pct=38.0,
            fin_ie_margin_pct=1.5,
        )

        async def scored() -> list[MetricScoresCalculatedV2]:
            return await _events(scored_kafka, MetricScoresCalculatedV2)

        [scores] = await eventually(scored)
        assert scores.data.framework == "nof-2025"
        assert scores.data.metric_scores == {
            "op_ae_4hr_pct": 4.0,
            "op_rtt_18wk_pct": 4.0,
            "fin_ie_margin_pct": 1.0,
        }
        assert scores.data.mean_score == 3.0 and not scores.data.in_financial_deficit
        weak = await _proposal_where(scored_kafka, 3, "3.00")
        assert weak.data.framework == "nof-2025"
        # Segmentation waits for the scores: no default segment 2 was proposed before they came.
        assert all(p.data.proposed_segment == 3 for p in await _events(scored_kafka, SegmentProposedV2))

        # Every standard met, but a 0.5% deficit: the mean gives segment 1, the deficit floor 3.
        await _submit(
            client,
            scored_platform,
            months_ago(1),
            op_ae_4hr_pct=95.0,
            op_rtt_18wk_pct=92.0,
            fin_ie_margin_pct=-0.5,
        )
        await _proposal_where(scored_kafka, 3, "1.50", also="deficit")

        async def in_deficit() -> list[MetricScoresCalculatedV2]:
            return [s for s in await scored() if s.data.in_financial_deficit and s.data.mean_score == 1.5]

        await eventually(in_deficit)

        # Back in surplus: segment 1, and the shared page shows it.
        await _submit(
            client,
            scored_platform,
            months_ago(0),
            op_ae_4hr_pct=95.5,
            op_rtt_18wk_pct=92.5,
            fin_ie_margin_pct=1.2,
        )
        recovered = await _proposal_where(scored_kafka, 1, "1.00")
        segments = (
            await client.get(f"{scored_platform.url('segmentation')}/v1/providers/{PROVIDER}/segments")
        ).json()
        assert str(recovered.data.proposal_id) in str(segments)
