"""Many returns in one request (``POST /v1/submissions/bulk``) on real PostgreSQL and Kafka: a JSON
array or NDJSON is stored and published as that many single returns, all or nothing; one bad or
foreign return refuses the whole request, naming the return by its index."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from oversight_contracts import SubmissionReceivedV2
from oversight_ingest.api import BULK_MAX_BODY_BYTES
from oversight_ingest.main import create_service
from oversight_ingest.models import BULK_MAX_ITEMS
from oversight_runtime.settings import ServiceSettings
from tests.support.db import count
from tests.support.identity import RunningIssuer
from tests.support.kafka_io import eventually, read_events

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

BULK = "/v1/submissions/bulk"
NDJSON = {"content-type": "application/x-ndjson"}

#: Every metric of the nof-2019 pack; 1.0 is within the bounds of each.
METRICS = [
    "fin_capital_service_capacity",
    "fin_liquidity_days",
    "fin_ie_margin_pct",
    "fin_distance_from_plan_pct",
    "fin_agency_spend_vs_cap_pct",
    "op_ae_4hr_pct",
    "op_rtt_18wk_pct",
    "op_cancer_62d_pct",
    "op_cancer_2ww_pct",
    "op_diagnostics_6wk_pct",
    "op_amb_cat1_mean_min",
    "op_amb_cat1_p90_min",
    "op_amb_cat2_mean_min",
    "op_amb_cat2_p90_min",
    "op_iapt_6wk_pct",
    "op_eip_2wk_pct",
    "q_never_events",
    "q_hsmr",
    "q_c_diff_cases",
    "q_mrsa_cases",
    "q_complaints_rate",
    "q_staff_fft_care_pct",
    "lead_sickness_absence_pct",
    "lead_staff_turnover_pct",
    "lead_exec_vacancy_pct",
    "lead_bullying_harassment_pct",
    "lead_teamwork_score",
    "lead_inclusion_score",
]


@pytest.fixture(scope="module")
def ingest(
    kafka: str, oidc: RunningIssuer, new_database: Callable[[str], str]
) -> Iterator[tuple[TestClient, str]]:
    """Ingest in process on a database of its own, signed in as RJ1's submitter."""
    url = new_database("ingest_bulk")
    settings = ServiceSettings(
        service_name="ingest", kafka_bootstrap_servers=kafka, database_url=url, auth=oidc.auth_settings()
    )
    with TestClient(create_service(settings).app, headers=oidc.headers("rj1.submitter")) as client:
        yield client, url


def _return(period: str = "2026-09", **overrides: Any) -> dict[str, Any]:
    return {
        "provider": "RJ1",
        "period": period,
        "observations": [{"metric": "op_ae_4hr_pct", "value": 71.2}],
    } | overrides


def _returns(n: int) -> list[dict[str, Any]]:
    """``n`` good returns of RJ1, for the months back from 2026-09, one each."""
    months = [2026 * 12 + 8 - i for i in range(n)]
    return [_return(f"{month // 12}-{month % 12 + 1:02d}") for month in months]


def _ndjson(returns: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in returns).encode()


def _correlated() -> dict[str, str]:
    """A fresh correlation id, to pick this request's events out of the shared topic."""
    return {"X-Correlation-ID": str(uuid4())}


async def _stored(url: str) -> tuple[int, int]:
    return (
        await count(url, "SELECT count(*) FROM submission"),
        await count(url, "SELECT count(*) FROM outbox_message"),
    )


async def _published(kafka: str, correlation_id: str, expected: int) -> list[SubmissionReceivedV2]:
    """This request's events on the topic, once the relay has sent ``expected`` of them."""

    async def events() -> list[SubmissionReceivedV2]:
        found = [
            e
            for e in await read_events(kafka, SubmissionReceivedV2, "RJ1")
            if str(e.correlation_id) == correlation_id
        ]
        return found if len(found) >= expected else []

    found: list[SubmissionReceivedV2] = await eventually(events)
    return found


def _locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


async def test_a_json_array_is_stored_and_published_as_that_many_returns(
    ingest: tuple[TestClient, str], kafka: str
) -> None:
    client, url = ingest
    before = await _stored(url)
    headers = _correlated()
    returns = _returns(3)
    response = client.post(BULK, json=returns, headers=headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["count"] == 3 and body["actor"]["user_id"] == "rj1.submitter"
    assert [(a["provider"], a["period"]) for a in body["accepted"]] == [
        (r["provider"], r["period"]) for r in returns
    ]
    assert {a["correlation_id"] for a in body["accepted"]} == {headers["X-Correlation-ID"]}
    assert await _stored(url) == (before[0] + 3, before[1] + 3)

    ids = [a["id"] for a in body["accepted"]]
    for returned, sent in zip(ids, returns, strict=True):
        fetched = client.get(f"/v1/submissions/{returned}")
        assert fetched.status_code == 200 and fetched.json()["period"] == sent["period"]
    events = await _published(kafka, headers["X-Correlation-ID"], 3)
    assert sorted(str(e.data.submission_id) for e in events) == sorted(ids)
    assert {e.data.actor.user_id for e in events} == {"rj1.submitter"}


async def test_ndjson_is_accepted_and_blank_lines_are_ignored(
    ingest: tuple[TestClient, str], kafka: str
) -> None:
    client, url = ingest
    before = await _stored(url)
    returns = _returns(2)
    content = b"\n" + json.dumps(returns[0]).encode() + b"\r\n   \n" + json.dumps(returns[1]).encode()
    headers = _correlated()
    response = client.post(BULK, content=content, headers={**NDJSON, **headers})
    assert response.status_code == 202, response.text
    assert [a["period"] for a in response.json()["accepted"]] == [r["period"] for r in returns]
    assert await _stored(url) == (before[0] + 2, before[1] + 2)
    assert len(await _published(kafka, headers["X-Correlation-ID"], 2)) == 2


BAD_RETURNS = [
    pytest.param({"period": "2026-13"}, ["body", 2, "period"], id="bad-month"),
    pytest.param({"period": "2099-01"}, ["body", 2, "period"], id="future-month"),
    pytest.param({"provider": "ZZZ99"}, ["body", 2, "provider"], id="unknown-provider"),
    pytest.param({"reported_by": "Chief Executive"}, ["body", 2, "reported_by"], id="unknown-field"),
    pytest.param(
        {"observations": [{"metric": "op_ae_4hr_pct", "value": 101}]},
        ["body", 2, "observations", 0, "value"],
        id="out-of-bounds",
    ),
    pytest.param(
        {"observations": [{"metric": "op_made_up_pct", "value": 1}]},
        ["body", 2, "observations", 0, "metric"],
        id="metric-not-in-framework",
    ),
    pytest.param(
        {"observations": [{"metric": "op_ae_4hr_pct", "value": 1}, {"metric": "op_ae_4hr_pct", "value": 2}]},
        ["body", 2, "observations", 1, "metric"],
        id="duplicate-metric",
    ),
]


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
@pytest.mark.parametrize(("change", "loc"), BAD_RETURNS)
async def test_one_bad_return_refuses_them_all_and_is_named_by_index(
    ingest: tuple[TestClient, str], change: dict[str, Any], loc: list[Any], ndjson: bool
) -> None:
    client, url = ingest
    before = await _stored(url)
    returns = _returns(4)
    returns[2] |= change
    if ndjson:
        response = client.post(BULK, content=_ndjson(returns), headers=NDJSON)
    else:
        response = client.post(BULK, json=returns)
    assert response.status_code == 422, response.text
    assert loc in _locs(response)
    assert all(found[:2] == ["body", 2] for found in _locs(response)), response.text
    assert await _stored(url) == before


async def test_every_return_failing_a_check_is_named_at_once(ingest: tuple[TestClient, str]) -> None:
    """A sender fixes a whole import in one go. The checks run in the order they do for one
    return (the schema, known providers, then the rules), and each names every return it fails."""
    client, url = ingest
    before = await _stored(url)
    returns = _returns(5)
    returns[0]["observations"] = []
    returns[1]["period"] = "2099-01"
    returns[3]["period"] = "2026-13"
    returns[4]["observations"] = [{"metric": "op_ae_4hr_pct", "value": 101}]
    schema = client.post(BULK, json=returns)
    assert schema.status_code == 422
    assert sorted(_locs(schema)) == [["body", 0, "observations"], ["body", 3, "period"]]

    returns[0], returns[3] = _return("2001-01", provider="ZZZ99"), _return("2001-02", provider="ZZZ98")
    providers = client.post(BULK, json=returns)
    assert providers.status_code == 422
    assert sorted(_locs(providers)) == [["body", 0, "provider"], ["body", 3, "provider"]]

    returns[0], returns[3] = _return("2001-01"), _return("2001-02")
    rules = client.post(BULK, json=returns)
    assert rules.status_code == 422
    assert sorted(_locs(rules)) == [["body", 1, "period"], ["body", 4, "observations", 0, "value"]]
    assert await _stored(url) == before


async def test_a_line_that_is_not_json_is_named_by_index_and_line(ingest: tuple[TestClient, str]) -> None:
    client, url = ingest
    before = await _stored(url)
    content = _ndjson(_returns(1)) + b"\n" + b'{"provider": "RJ1",\n' + _ndjson(_returns(1))
    response = client.post(BULK, content=content, headers=NDJSON)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", 1] and error["type"] == "json_invalid" and "line 3" in error["msg"]
    assert await _stored(url) == before


async def test_ndjson_lines_end_at_newlines_only(ingest: tuple[TestClient, str]) -> None:
    """A line separator inside a JSON string (legal there) does not split the return in two."""
    client, url = ingest
    before = await _stored(url)
    content = json.dumps(_return(provider="RJ1\u2028"), ensure_ascii=False).encode() + b"\n"
    response = client.post(BULK, content=content, headers=NDJSON)
    assert response.status_code == 422
    assert _locs(response) == [["body", 0, "provider"]]
    assert await _stored(url) == before


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        pytest.param(b'{"provider": "RJ1"}', {}, id="json-object-not-array"),
        pytest.param(b"[", {}, id="json-truncated"),
        pytest.param(b"[]", {}, id="json-empty-array"),
        pytest.param(b"", NDJSON, id="ndjson-empty"),
        pytest.param(b"\n\n", NDJSON, id="ndjson-only-blank-lines"),
    ],
)
async def test_a_body_that_is_no_list_of_returns_is_refused(
    ingest: tuple[TestClient, str], content: bytes, headers: dict[str, str]
) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post(BULK, content=content, headers={"content-type": "application/json", **headers})
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body"]]
    assert await _stored(url) == before


async def test_a_return_for_another_trust_is_forbidden_and_nothing_is_stored(
    ingest: tuple[TestClient, str], oidc: RunningIssuer
) -> None:
    client, url = ingest
    before = await _stored(url)
    returns = _returns(3)
    returns[1]["provider"] = "RAX"
    response = client.post(BULK, json=returns)
    assert response.status_code == 403, response.text
    assert _locs(response) == [["body", 1, "provider"]]
    assert response.json()["detail"][0]["type"] == "out_of_scope"
    assert await _stored(url) == before

    # The same permission as one return: a regional member may not submit at all.
    member = client.post(BULK, json=_returns(1), headers=oidc.headers("y56.member"))
    assert member.status_code == 403 and member.json()["detail"][0]["type"] == "action_not_permitted"
    assert await _stored(url) == before


async def test_more_returns_than_allowed_are_refused_before_any_is_read(
    ingest: tuple[TestClient, str],
) -> None:
    client, url = ingest
    before = await _stored(url)
    too_many = [_return()] * (BULK_MAX_ITEMS + 1)
    too_many[5] = {"not": "a return"}  # never looked at: the count is checked first
    for response in (
        client.post(BULK, json=too_many),
        client.post(BULK, content=_ndjson(too_many), headers=NDJSON),
    ):
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body"] and error["type"] == "too_many_items"
        assert f"at most {BULK_MAX_ITEMS}" in error["msg"]
    assert await _stored(url) == before


@pytest.mark.parametrize(
    "content_type", ["text/csv", "application/xml", "text/plain", "application/x-www-form-urlencoded", None]
)
async def test_another_content_type_is_unsupported(
    ingest: tuple[TestClient, str], content_type: str | None
) -> None:
    client, url = ingest
    before = await _stored(url)
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(BULK, content=_ndjson(_returns(1)), headers=headers)
    assert response.status_code == 415, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "Content-Type"] and error["type"] == "unsupported_media_type"
    assert "application/json" in error["msg"] and "application/x-ndjson" in error["msg"]
    assert await _stored(url) == before


async def test_a_body_that_is_not_utf8_is_refused(ingest: tuple[TestClient, str]) -> None:
    client, url = ingest
    before = await _stored(url)
    response = client.post(
        BULK, content=b'[{"provider": "\xff"}]', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert await _stored(url) == before


async def test_a_replay_returns_the_first_answer_and_publishes_nothing_new(
    ingest: tuple[TestClient, str], kafka: str
) -> None:
    client, url = ingest
    returns = _returns(3)
    key = {"Idempotency-Key": f"bulk-import-{uuid4()}"}
    first_headers = {**key, **_correlated()}
    first = client.post(BULK, json=returns, headers=first_headers)
    assert first.status_code == 202, first.text
    after_first = await _stored(url)

    again = client.post(BULK, json=returns, headers={**key, **_correlated()})
    as_ndjson = client.post(BULK, content=_ndjson(returns), headers={**key, **NDJSON})
    for replay in (again, as_ndjson):  # the same returns, however they are framed
        assert replay.status_code == 202 and replay.json() == first.json()
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert await _stored(url) == after_first

    other = client.post(BULK, json=_returns(2), headers=key)
    assert other.status_code == 422 and other.json()["detail"][0]["type"] == "idempotency_key_reused"
    assert await _stored(url) == after_first

    events = await _published(kafka, first_headers["X-Correlation-ID"], 3)
    assert sorted(str(e.data.submission_id) for e in events) == sorted(
        a["id"] for a in first.json()["accepted"]
    )


async def test_the_bulk_route_takes_a_larger_body_than_the_others(ingest: tuple[TestClient, str]) -> None:
    """~280 KiB of returns (200 months of every metric) is accepted here; the single routes keep
    the service's 64 KiB; and even here the limit holds."""
    client, url = ingest
    before = await _stored(url)
    returns = [r | {"observations": [{"metric": m, "value": 1.0} for m in METRICS]} for r in _returns(200)]
    content = json.dumps(returns).encode()
    assert 200 * 1024 < len(content) < BULK_MAX_BODY_BYTES
    response = client.post(BULK, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text[:500]
    assert response.json()["count"] == 200
    assert await _stored(url) == (before[0] + 200, before[1] + 200)

    single = _return() | {"observations": [{"metric": m, "value": 1.0} for m in METRICS]}
    padded = json.dumps(single).encode() + b" " * (64 * 1024)
    for path in ("/v1/submissions", "/v1/exception-reports"):
        refused = client.post(path, content=padded, headers={"content-type": "application/json"})
        assert refused.status_code == 413, (path, refused.text)

    over = json.dumps(_returns(1)).encode() + b" " * BULK_MAX_BODY_BYTES
    refused = client.post(BULK, content=over, headers={"content-type": "application/json"})
    assert refused.status_code == 413
    assert await _stored(url) == (before[0] + 200, before[1] + 200)


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_the_bulk_path_takes_only_post(ingest: tuple[TestClient, str], method: str) -> None:
    """Not taken for a submission id by ``GET /v1/submissions/{submission_id}``."""
    client, _url = ingest
    response = client.request(method, BULK)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"


async def test_the_bulk_route_is_documented_with_both_media_types(ingest: tuple[TestClient, str]) -> None:
    client, _url = ingest
    document = client.get("/openapi.json").json()
    operation = document["paths"][BULK]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-ndjson"}
    items = content["application/json"]["schema"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert items in document["components"]["schemas"]  # the same schema as POST /v1/submissions
    post_one = document["paths"]["/v1/submissions"]["post"]["requestBody"]["content"]["application/json"]
    assert post_one["schema"]["$ref"].endswith(f"/{items}")
    assert content["application/json"]["schema"]["maxItems"] == BULK_MAX_ITEMS
    assert {"202", "401", "403", "413", "415", "422"} <= set(operation["responses"])
    accepted = operation["responses"]["202"]["content"]["application/json"]["schema"]["$ref"]
    assert accepted.endswith("/BulkSubmissionAccepted")
    assert list(document["paths"][BULK]) == ["post"]
