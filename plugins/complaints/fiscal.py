"""The Thai government fiscal year: 1 October to 30 September, named by its Buddhist-era end year.

FY 2562 runs from 1 October 2018 to 30 September 2019. Quarters: Q1 Oct–Dec, Q2 Jan–Mar,
Q3 Apr–Jun, Q4 Jul–Sep. The start month comes from ``fiscal_year_start_month`` in
include/config/pipeline.yaml.
"""

from __future__ import annotations

from datetime import date, timedelta

from complaints.config import load_config
from complaints.thai_time import BE_OFFSET


def start_month() -> int:
    return int(load_config().raw.get("fiscal_year_start_month", 10))


def fiscal_year_be(day: date) -> int:
    """Buddhist-era fiscal year that ``day`` belongs to (2019-08-30 → 2562, 2018-10-01 → 2562)."""
    first = start_month()
    return day.year + (1 if first > 1 and day.month >= first else 0) + BE_OFFSET


def fiscal_year_start(fiscal_year: int) -> date:
    """First day of a Buddhist-era fiscal year (2562 → 2018-10-01)."""
    first = start_month()
    year_ce = fiscal_year - BE_OFFSET
    return date(year_ce - 1 if first > 1 else year_ce, first, 1)


def fiscal_year_end(fiscal_year: int) -> date:
    """Last day of a Buddhist-era fiscal year (2562 → 2019-09-30)."""
    return fiscal_year_start(fiscal_year + 1) - timedelta(days=1)


def fiscal_quarter(day: date) -> int:
    """1–4: with the October start, October–December is Q1."""
    return (day.month - start_month()) % 12 // 3 + 1


def quarter_end(fiscal_year: int, quarter: int) -> date:
    """Last day of ``quarter`` of the Buddhist-era ``fiscal_year``."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"fiscal quarter must be 1-4, got {quarter}")
    first = fiscal_year_start(fiscal_year)
    month_index = first.month - 1 + 3 * quarter  # months after January of the start year
    return date(first.year + month_index // 12, month_index % 12 + 1, 1) - timedelta(days=1)


def previous_quarter_end(day: date) -> date:
    """Last day of the quarter before the one ``day`` is in."""
    first_month = day.month - (day.month - start_month()) % 3
    return date(day.year, first_month, 1) - timedelta(days=1)
