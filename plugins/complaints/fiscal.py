"""The Thai government fiscal year: 1 October to 30 September, named by its Buddhist-era end year.

FY 2562 runs from 1 October 2018 to 30 September 2019. Quarters: Q1 Oct–Dec, Q2 Jan–Mar,
Q3 Apr–Jun, Q4 Jul–Sep.
"""

from __future__ import annotations

from datetime import date, timedelta

from complaints.thai_time import BE_OFFSET

FISCAL_YEAR_START_MONTH = 10


def fiscal_year_be(day: date) -> int:
    """Buddhist-era fiscal year that ``day`` belongs to (2019-08-30 → 2562, 2018-10-01 → 2562)."""
    return (day.year + 1 if day.month >= FISCAL_YEAR_START_MONTH else day.year) + BE_OFFSET


def fiscal_year_start(day: date) -> date:
    return date(fiscal_year_be(day) - BE_OFFSET - 1, FISCAL_YEAR_START_MONTH, 1)


def fiscal_quarter(day: date) -> int:
    """1–4: October–December is Q1."""
    return (day.month - FISCAL_YEAR_START_MONTH) % 12 // 3 + 1


def quarter_end(fiscal_year: int, quarter: int) -> date:
    """Last day of ``quarter`` of the Buddhist-era ``fiscal_year``."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"fiscal quarter must be 1-4, got {quarter}")
    start_year = fiscal_year - BE_OFFSET - 1
    first_month_after = FISCAL_YEAR_START_MONTH + 3 * quarter  # 13, 16, 19, 22
    year, month = start_year + (first_month_after - 1) // 12, (first_month_after - 1) % 12 + 1
    return date(year, month, 1) - timedelta(days=1)


def previous_quarter_end(day: date) -> date:
    """Last day of the quarter before the one ``day`` is in."""
    first_month = day.month - (day.month - FISCAL_YEAR_START_MONTH) % 3
    return date(day.year, first_month, 1) - timedelta(days=1)
