"""Calendar months as integers, so "the previous month" and "two consecutive months" are exact."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

#: metric id → month index → value
Series = Mapping[str, Mapping[int, float]]

_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)


def month_index(period: str) -> int:
    """``YYYY-MM`` → months since year 0; consecutive months differ by one.

    Anything else is refused, naming it, rather than read as some other month ("2026-13" is not
    January 2027).
    """
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"period {period!r} is not a calendar month YYYY-MM")
    return int(match[1]) * 12 + int(match[2]) - 1


def month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def period_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
