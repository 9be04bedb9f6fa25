"""Calendar months relative to today, for tests that submit recent returns."""

from __future__ import annotations

from datetime import date

from oversight_engine.periods import month_of, period_of


def months_ago(n: int, today: date | None = None) -> str:
    """The period ``YYYY-MM`` n calendar months before today's (0 is this month)."""
    return period_of(month_of(today or date.today()) - n)


def first_day_months_ago(n: int, today: date | None = None) -> date:
    return date.fromisoformat(f"{months_ago(n, today)}-01")
