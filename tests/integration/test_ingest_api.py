"""Ingest's endpoints on real PostgreSQL and Kafka: good input is stored and published once;
bad input gets a clear 422 naming the field, and stores and publishes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oversight_ingest.main import create_service
from oversight_runtime.settings import ServiceSettings
from tests.support.db import count
from tests.support.identity import RunningIssuer

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture(scope="module")
def ingest(
    kafka: str, oidc: RunningIssuer, new_database: Callable[[str], str]
) -> Iterator[tuple[TestClient, str]]:
    """Ingest in process, trusting the local OpenID Connect provider; the client signs in as
    RJ1's submitter unless a test sends another user's token."""
    url = new_database("ingest_api")
    settings = ServiceSettings(
        service_name="ingest", kafka_bootstrap_servers=kafka, database_url=url, auth=oidc.auth_settings()
    )
    with TestClient(create_service(settings).app, headers=oidc.headers("rj1.submitter")) as client:
        yield client, url


@pytest.fixture(scope="module")
def region(oidc: RunningIssuer) -> dict[str, str]:
    """Headers of a London regional team member, who records facts and concerns."""
    return oidc.headers("y56.member")


def _report(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "category": "material_reputational_issue",
        "summary": "National press coverage of delayed discharges.",
        "occurred_on": date.today().isoformat(),
    } | overrides


def _submission(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "period": "2026-09",
        "observations": [{"metric": "op_ae_4hr_pct", "value": 71.2}],
    } | overrides


async def _stored(url: str) -> tuple[int, ...]:
    return (
        await count(url, "SELECT count(*) FROM exception_report"),
        await count(url, "SELECT count(*) FROM submission"),
        await count(url, "SELECT count(*) FROM outbox_message"),
        await count(url, "SELECT count(*) FROM provider_facts_entry"),
        await count(url, "SELECT count(*) FROM material_concern"),
    )


BAD_REPORTS = [
    pytest.param({"provider": "not a code"}, ["body", "provider"], id="malformed-ods-code"),
    pytest.param({"category": "gossip"}, ["body", "category"], id="unknown-category"),
    pytest.param({"summary": ""}, ["body", "summary"], id="empty-summary"),
    pytest.param({"occurred_on": "yesterday"}, ["body", "occurred_on"], id="bad-date"),
    pytest.param({"unexpected": 1}, ["body", "unexpected"], id="unknown-field"),
    pytest.param({"provider": "ZZZ99"}, ["body", "provider"], id="unknown-provider"),
    pytest.param(
        {"occurred_on": (date.today() + timedelta(days=3)).isoformat()},
        ["body", "occurred_on"],
        id="future-date",
    ),
    pytest.param({"occurred_on": "1066-10-14"}, ["body", "occurred_on"], id="implausibly-old-date"),
    pytest.param({"summary": "Pay \u202eecnalab\u202c now"}, ["body", "summary"], id="bidi-override"),
    pytest.param({"summary": "ring \x07 the bell"}, ["body", "summary"], id="control-character"),
]


@pytest.mark.parametrize(("change", "loc"), BAD_REPORTS)
async def test_bad_exception_report_is_rejected_and_changes_nothing(
    ingest: tuple[TestClient, str], change: dict[str, Any], loc: list[str]
) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post("/v1/exception-reports", json=_report(**change))
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert await _stored(url) == before


async def test_missing_field_is_named(ingest: tuple[TestClient, str]) -> None:
    client, _url = ingest
    body = _report()
    del body["summary"]
    response = client.post("/v1/exception-reports", json=body)
    assert response.status_code == 422
    assert ["body", "summary"] in [e["loc"] for e in response.json()["detail"]]


async def test_who_reported_comes_from_the_token_never_the_body(ingest: tuple[TestClient, str]) -> None:
    client, url = ingest
    before = await _stored(url)
    claimed = client.post("/v1/exception-reports", json=_report(reported_by="Chief Executive"))
    assert claimed.status_code == 422 and ["body", "reported_by"] in [
        e["loc"] for e in claimed.json()["detail"]
    ]
    assert await _stored(url) == before
    accepted = client.post("/v1/exception-reports", json=_report())
    assert accepted.status_code == 202
    assert accepted.json()["actor"] == {
        "user_id": "rj1.submitter",
        "name": "Asha Patel",
        "organisation": "RJ1",
        "role": "trust_submitter",
    }


BAD_SUBMISSIONS = [
    pytest.param({"period": "2026-13"}, ["body", "period"], id="bad-month"),
    pytest.param({"period": "2099-01"}, ["body", "period"], id="future-month"),
    pytest.param({"period": "1999-12"}, ["body", "period"], id="implausibly-old-month"),
    pytest.param({"observations": []}, ["body", "observations"], id="no-observations"),
    pytest.param(
        {"observations": [{"metric": "A&E", "value": 1}]},
        ["body", "observations", 0, "metric"],
        id="bad-metric-id",
    ),
    pytest.param(
        {"observations": [{"metric": "op_ae_4hr_pct", "value": "lots"}]},
        ["body", "observations", 0, "value"],
        id="non-numeric-value",
    ),
    pytest.param(
        {"observations": [{"metric": "op_ae_4hr_pct", "value": 1}, {"metric": "op_ae_4hr_pct", "value": 2}]},
        ["body", "observations", 1, "metric"],
        id="duplicate-metric",
    ),
    pytest.param({"provider": "ZZZ99"}, ["body", "provider"], id="unknown-provider"),
    pytest.param(
        {"observations": [{"metric": "op_made_up_pct", "value": 1}]},
        ["body", "observations", 0, "metric"],
        id="metric-not-in-framework",
    ),
    pytest.param(
        {"observations": [{"metric": "op_ae_4hr_pct", "value": 101}]},
        ["body", "observations", 0, "value"],
        id="percentage-above-100",
    ),
]


@pytest.mark.parametrize(("change", "loc"), BAD_SUBMISSIONS)
async def test_bad_submission_is_rejected_and_changes_nothing(
    ingest: tuple[TestClient, str], change: dict[str, Any], loc: list[Any]
) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post("/v1/submissions", json=_submission(**change))
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert await _stored(url) == before


def _facts(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "cqc": {"overall": "requires_improvement", "safe": "good"},
        "licence": "compliant",
        "recorded_on": date.today().isoformat(),
    } | overrides


def _concern(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "theme": "quality_of_care",
        "summary": "Prevention of future deaths report on sepsis recognition.",
        "intelligence_source": "coroner",
        "raised_on": date.today().isoformat(),
    } | overrides


BAD_WRITES = [
    pytest.param(
        "/v1/provider-facts",
        _facts(cqc={"overall": "terrible"}),
        ["body", "cqc", "overall"],
        id="facts-bad-rating",
    ),
    pytest.param(
        "/v1/provider-facts", _facts(licence="revoked"), ["body", "licence"], id="facts-bad-licence"
    ),
    pytest.param(
        "/v1/provider-facts",
        _facts(special_measures="maybe"),
        ["body", "special_measures"],
        id="facts-bad-sm",
    ),
    pytest.param(
        "/v1/provider-facts", _facts(provider="ZZZ99"), ["body", "provider"], id="facts-unknown-provider"
    ),
    pytest.param(
        "/v1/provider-facts",
        {k: v for k, v in _facts().items() if k not in {"cqc", "licence"}},
        ["body"],
        id="facts-none-given",
    ),
    pytest.param(
        "/v1/provider-facts",
        _facts(recorded_on=(date.today() + timedelta(days=2)).isoformat()),
        ["body", "recorded_on"],
        id="facts-future-date",
    ),
    pytest.param(
        "/v1/material-concerns", _concern(theme="morale"), ["body", "theme"], id="concern-bad-theme"
    ),
    pytest.param(
        "/v1/material-concerns", _concern(summary=""), ["body", "summary"], id="concern-empty-summary"
    ),
    pytest.param(
        "/v1/material-concerns",
        _concern(provider="ZZZ99"),
        ["body", "provider"],
        id="concern-unknown-provider",
    ),
    pytest.param(
        "/v1/material-concerns",
        _concern(raised_on=(date.today() + timedelta(days=2)).isoformat()),
        ["body", "raised_on"],
        id="concern-future-date",
    ),
    pytest.param(
        "/v1/material-concerns",
        _concern(intelligence_source="coroner\nsecond line"),
        ["body", "intelligence_source"],
        id="concern-multiline-name",
    ),
]


@pytest.mark.parametrize(("path", "body", "loc"), BAD_WRITES)
async def test_bad_facts_or_concern_is_rejected_and_changes_nothing(
    ingest: tuple[TestClient, str], region: dict[str, str], path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post(path, json=body, headers=region)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert await _stored(url) == before


@pytest.mark.parametrize(
    ("path", "body"), [("/v1/provider-facts", _facts()), ("/v1/material-concerns", _concern())]
)
async def test_facts_and_concerns_are_stored_and_staged_once_per_key(
    ingest: tuple[TestClient, str], region: dict[str, str], path: str, body: dict[str, Any]
) -> None:
    client, url = ingest
    before = await _stored(url)
    headers = {**region, "Idempotency-Key": f"key-{path}-{date.today()}"}
    first = client.post(path, json=body, headers=headers)
    again = client.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    after = await _stored(url)
    assert after[2] == before[2] + 1  # one event staged in the outbox
    assert sum(after[3:]) == sum(before[3:]) + 1
    assert first.json()["actor"]["user_id"] == "y56.member"


async def test_an_idempotency_key_belongs_to_its_caller(
    ingest: tuple[TestClient, str], oidc: RunningIssuer
) -> None:
    """Another user reusing a key is neither refused nor handed the first user's answer."""
    client, url = ingest
    key = {"Idempotency-Key": "shared-by-two-callers-0001"}
    before = await _stored(url)
    member = client.post(
        "/v1/material-concerns", json=_concern(), headers={**oidc.headers("qkk.member"), **key}
    )
    lead = client.post("/v1/material-concerns", json=_concern(), headers={**oidc.headers("qkk.lead"), **key})
    other_body = client.post(
        "/v1/material-concerns",
        json=_concern(summary="Another concern"),
        headers={**oidc.headers("y56.member"), **key},
    )
    assert member.status_code == lead.status_code == other_body.status_code == 202
    assert "Idempotent-Replayed" not in lead.headers and "Idempotent-Replayed" not in other_body.headers
    assert [r.json()["actor"]["user_id"] for r in (member, lead, other_body)] == [
        "qkk.member",
        "qkk.lead",
        "y56.member",
    ]
    assert len({r.json()["id"] for r in (member, lead, other_body)}) == 3
    assert (await _stored(url))[4] == before[4] + 3
    replay = client.post(
        "/v1/material-concerns", json=_concern(), headers={**oidc.headers("qkk.lead"), **key}
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == lead.json()


async def test_malformed_json_is_rejected(ingest: tuple[TestClient, str]) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post(
        "/v1/exception-reports", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert await _stored(url) == before


async def test_good_report_is_stored_and_staged_once(ingest: tuple[TestClient, str]) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post("/v1/exception-reports", json=_report())
    assert response.status_code == 202
    body = response.json()
    assert body["provider"] == "RJ1" and body["id"]
    assert await _stored(url) == (before[0] + 1, before[1], before[2] + 1, *before[3:])
    fetched = client.get(f"/v1/exception-reports/{body['id']}")
    assert fetched.status_code == 200 and fetched.json()["summary"] == _report()["summary"]


async def test_same_idempotency_key_returns_first_answer_and_publishes_nothing_new(
    ingest: tuple[TestClient, str],
) -> None:
    client, url = ingest
    headers = {"Idempotency-Key": "trust-system-retry-0001"}
    first = client.post("/v1/submissions", json=_submission(), headers=headers)
    after_first = await _stored(url)
    again = client.post("/v1/submissions", json=_submission(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _stored(url) == after_first

    reused = client.post("/v1/submissions", json=_submission(period="2026-08"), headers=headers)
    assert reused.status_code == 422
    assert reused.json()["detail"][0]["type"] == "idempotency_key_reused"
    assert await _stored(url) == after_first


async def test_unknown_resources_are_404(ingest: tuple[TestClient, str]) -> None:
    client, _ = ingest
    assert client.get("/v1/exception-reports/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/v1/submissions/not-a-uuid").status_code == 422


async def test_health_and_metrics(ingest: tuple[TestClient, str]) -> None:
    client, _ = ingest
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": "ok",
        "outbox relay": "ok",
        "consumers": "ok",
        "broker": "ok",
    }
    metrics = client.get("/metrics").text
    assert "oversight_outbox_pending" in metrics
    assert "oversight_idempotent_replays_total" in metrics
