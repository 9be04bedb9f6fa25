"""Reading notification's alert list as a client would: page by page, to the end."""

from __future__ import annotations

from typing import Any

import httpx

PAGE = 500


async def all_alerts(
    client: httpx.AsyncClient, notification: str, headers: dict[str, str], **params: Any
) -> list[Any]:
    """Every alert the caller may see (after ``after``, if given), following the ``after`` cursor:
    a busy test session holds more alerts than one page."""
    alerts: list[Any] = []
    after = int(params.pop("after", 0))
    while True:
        response = await client.get(
            f"{notification}/v1/alerts", params={**params, "after": after, "limit": PAGE}, headers=headers
        )
        response.raise_for_status()
        page = response.json()
        alerts += page
        if len(page) < PAGE:
            return alerts
        after = page[-1]["id"]
