"""Hostile HTTP clients against the running services: a body over the limit, headers or a body
sent too slowly, more live streams than allowed. Each is refused or cut off, and nothing changes.
(The platform under test gives clients 2 s; the default is 10 s.)"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import date
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.db import count
from tests.support.identity import RunningIssuer
from tests.support.platform import RunningPlatform

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=15)
    return sock


def _wait_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server says until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    while chunk := sock.recv(4096):
        received += chunk
    return received, time.monotonic() - started


async def test_a_body_over_the_limit_gets_413_and_stores_nothing(
    platform: RunningPlatform, oidc: RunningIssuer
) -> None:
    db = platform.database_urls["ingest"]
    before = await count(db, "SELECT count(*) FROM outbox_message")
    report = {
        "provider": "RJ1",
        "category": "material_reputational_issue",
        "summary": "x" * 100_000,
        "occurred_on": date.today().isoformat(),
    }
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{platform.url('ingest')}/v1/exception-reports",
            json=report,
            headers=oidc.headers("rj1.submitter"),
        )
    assert response.status_code == 413, response.text
    assert len(response.content) < 500  # the answer does not echo the body
    assert await count(db, "SELECT count(*) FROM outbox_message") == before


def test_a_client_sending_its_headers_too_slowly_is_cut_off(platform: RunningPlatform) -> None:
    with _connect(platform.url("ingest")) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        received, waited = _wait_closed(sock)
    assert received == b"" and waited < 6  # closed after the 2 s allowed, not held for ever


def test_a_client_sending_its_body_too_slowly_gets_408(
    platform: RunningPlatform, oidc: RunningIssuer
) -> None:
    head = (
        "POST /v1/exception-reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {oidc.token('rj1.submitter')}\r\nContent-Length: 200\r\n\r\n"
    )
    with _connect(platform.url("ingest")) as sock:
        sock.sendall(head.encode() + b'{"provider": "RJ1", ')  # 20 of the 200 bytes promised
        received, waited = _wait_closed(sock)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert waited < 6


async def test_live_streams_are_capped_per_user(platform: RunningPlatform, oidc: RunningIssuer) -> None:
    """Three open streams per user by default; the fourth is refused with 429 until one closes."""
    url = f"{platform.url('notification')}/v1/alerts/stream"
    headers = oidc.headers("qmj.member")
    async with httpx.AsyncClient(timeout=10) as client:
        streams = []
        for _ in range(3):
            stream = client.stream("GET", url, headers=headers)
            response = await stream.__aenter__()
            assert response.status_code == 200
            streams.append(stream)
        refused = await client.get(url, headers=headers)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"
        assert refused.json()["detail"][0]["type"] == "too_many_streams"
        other_user = client.stream("GET", url, headers=oidc.headers("qkk.member"))
        assert (await other_user.__aenter__()).status_code == 200  # the cap is per user
        await other_user.__aexit__(None, None, None)
        await streams.pop().__aexit__(None, None, None)

        async def reopened() -> int:
            response = await client.get(url, headers=headers, timeout=httpx.Timeout(10, read=1))
            return response.status_code

        for _ in range(20):  # the server notices the closed stream at its next poll
            try:
                status = await reopened()
            except httpx.ReadTimeout:  # a 200 stream that keeps going: the slot was free
                status = 200
            if status == 200:
                break
            await asyncio.sleep(0.5)
        assert status == 200
        for stream in streams:
            await stream.__aexit__(None, None, None)
