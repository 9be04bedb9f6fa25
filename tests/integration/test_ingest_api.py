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

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture(scope="module")
def ingest(kafka: str, new_database: Callable[[str], str]) -> Iterator[tuple[TestClient, str]]:
    url = new_database("ingest_api")
    settings = ServiceSettings(service_name="ingest", kafka_bootstrap_servers=kafka, database_url=url)
    with TestClient(create_service(settings).app) as client:
        yield client, url


def _report(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "category": "material_reputational_issue",
        "summary": "National press coverage of delayed discharges.",
        "occurred_on": date.today().isoformat(),
        "reported_by": "Director of Communications",
    } | overrides


def _submission(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "period": "2026-09",
        "observations": [{"metric": "op_ae_4hr_pct", "value": 71.2}],
        "submitted_by": "Performance team",
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
    del body["reported_by"]
    response = client.post("/v1/exception-reports", json=body)
    assert response.status_code == 422
    assert ["body", "reported_by"] in [e["loc"] for e in response.json()["detail"]]


BAD_SUBMISSIONS = [
    pytest.param({"period": "2026-13"}, ["body", "period"], id="bad-month"),
    pytest.param({"period": "2099-01"}, ["body", "period"], id="future-month"),
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
        "recorded_by": "NHS England London region",
    } | overrides


def _concern(**overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "theme": "quality_of_care",
        "summary": "Prevention of future deaths report on sepsis recognition.",
        "intelligence_source": "coroner",
        "raised_on": date.today().isoformat(),
        "raised_by": "South East London ICB quality team",
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
]


@pytest.mark.parametrize(("path", "body", "loc"), BAD_WRITES)
async def test_bad_facts_or_concern_is_rejected_and_changes_nothing(
    ingest: tuple[TestClient, str], path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert loc in [error["loc"] for error in response.json()["detail"]]
    assert await _stored(url) == before


@pytest.mark.parametrize(
    ("path", "body"), [("/v1/provider-facts", _facts()), ("/v1/material-concerns", _concern())]
)
async def test_facts_and_concerns_are_stored_and_staged_once_per_key(
    ingest: tuple[TestClient, str], path: str, body: dict[str, Any]
) -> None:
    client, url = ingest
    before = await _stored(url)
    headers = {"Idempotency-Key": f"key-{path}-{date.today()}"}
    first = client.post(path, json=body, headers=headers)
    again = client.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    after = await _stored(url)
    assert after[2] == before[2] + 1  # one event staged in the outbox
    assert sum(after[3:]) == sum(before[3:]) + 1


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
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    metrics = client.get("/metrics").text
    assert "oversight_outbox_pending" in metrics
    assert "oversight_idempotent_replays_total" in metrics
