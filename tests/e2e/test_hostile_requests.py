"""Single requests an outside tester sends to break things: each gets a clear 4xx, never a 500,
and changes nothing. (These gave 500 before: found by hand and by the schema fuzz.)"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from tests.support.db import count
from tests.support.identity import RunningIssuer
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

REPORT = {
    "provider": "RJ1",
    "category": "material_reputational_issue",
    "summary": "s",
    "occurred_on": "2026-01-05",
}


def _report(**overrides: Any) -> dict[str, Any]:
    return REPORT | {"occurred_on": date.today().isoformat()} | overrides


@pytest.mark.parametrize(
    "correlation",
    ["not-a-uuid", "x" * 10_000, "00000000-0000-0000-0000-00000000000g"],
    ids=["word", "10k", "bad-hex"],
)
async def test_a_correlation_id_that_is_not_a_uuid_is_refused_on_writes(
    platform: RunningPlatform, oidc: RunningIssuer, correlation: str
) -> None:
    db = platform.database_urls["ingest"]
    before = await count(db, "SELECT count(*) FROM outbox_message")
    async with httpx.AsyncClient(timeout=10) as client:
        report = await client.post(
            f"{platform.url('ingest')}/v1/exception-reports",
            json=_report(),
            headers=oidc.headers("rj1.submitter", **{"X-Correlation-ID": correlation}),
        )
        decision = await client.post(
            f"{platform.url('segmentation')}/v1/providers/RJ1/segment-decisions",
            json={"segment": 2, "reason": "r"},
            headers=oidc.headers("y56.decider", **{"X-Correlation-ID": correlation}),
        )
    for response in (report, decision):
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["header", "X-Correlation-ID"]
        assert len(response.text) < 1_000  # the error names the header without echoing it whole
    assert await count(db, "SELECT count(*) FROM outbox_message") == before


async def test_a_uuid_correlation_id_is_kept(platform: RunningPlatform, oidc: RunningIssuer) -> None:
    correlation = "6a1f2b7c-0d3e-4f50-8a9b-1c2d3e4f5a6b"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{platform.url('ingest')}/v1/exception-reports",
            json=_report(),
            headers=oidc.headers("rj1.submitter", **{"X-Correlation-ID": correlation}),
        )
    assert response.status_code == 202 and response.json()["correlation_id"] == correlation


@pytest.mark.parametrize("too_big", [str(2**63), str(2**31)])
async def test_an_alert_cursor_beyond_the_alert_ids_is_refused(
    platform: RunningPlatform, oidc: RunningIssuer, too_big: str
) -> None:
    async with httpx.AsyncClient(timeout=10, headers=oidc.headers("qkk.member")) as client:
        listed = await client.get(f"{platform.url('notification')}/v1/alerts", params={"after": too_big})
        streamed = await client.get(
            f"{platform.url('notification')}/v1/alerts/stream", headers={"Last-Event-ID": too_big}
        )
        largest = await client.get(
            f"{platform.url('notification')}/v1/alerts", params={"after": str(2**31 - 1)}
        )
    assert listed.status_code == streamed.status_code == 422
    assert listed.json()["detail"][0]["loc"] == ["query", "after"]
    assert streamed.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]
    assert largest.status_code == 200 and largest.json() == []


@pytest.mark.parametrize(
    ("path", "raw", "loc"),
    [
        (
            "/v1/submissions",
            b'{"provider": "RJ1", "period": "2026-01", "observations": [{"metric": "op_ae_4hr_pct", "value": 1e999}]}',
            ["body", "observations", 0, "value"],
        ),
        (
            "/v1/exception-reports",
            b'{"provider": "RJ1", "category": "material_reputational_issue", "summary": "\\ud800", "occurred_on": "2026-01-05"}',
            ["body", "summary"],
        ),
        ("/v1/exception-reports", b'{"\\udfff": 1}', ["body"]),  # not valid JSON text: refused whole
        (
            "/v1/exception-reports",
            b'{"provider": "RJ1", "category": "material_reputational_issue", "summary": "'
            + b"x" * 5000
            + b'", "occurred_on": "2026-01-05"}',
            ["body", "summary"],
        ),
    ],
    ids=["infinite-value", "lone-surrogate", "surrogate-field-name", "overlong-summary"],
)
async def test_unencodable_or_huge_input_gets_a_short_clear_422(
    platform: RunningPlatform, oidc: RunningIssuer, path: str, raw: bytes, loc: list[Any]
) -> None:
    db = platform.database_urls["ingest"]
    before = await count(db, "SELECT count(*) FROM outbox_message")
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            platform.url("ingest") + path,
            content=raw,
            headers=oidc.headers("rj1.submitter", **{"content-type": "application/json"}),
        )
    assert response.status_code == 422, response.text
    assert loc in [p["loc"] for p in response.json()["detail"]]
    assert len(response.content) < 2_000  # an excerpt of the input at most, never all of it
    assert await count(db, "SELECT count(*) FROM outbox_message") == before
