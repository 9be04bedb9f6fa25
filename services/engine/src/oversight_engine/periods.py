"""Calendar months as integers, so "the previous month" and "two consecutive months" are exact."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

#: metric id → month index → value
Series = Mapping[str, Mapping[int, float]]


def month_index(period: str) -> int:
    """``YYYY-MM`` → months since year 0; consecutive months differ by one."""
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def period_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
