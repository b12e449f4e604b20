"""Dates as Thai sources write them: Buddhist-era years, Asia/Bangkok wall-clock time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)

_BE_DATETIME = re.compile(r"^\s*(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})(?:\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?\s*$")


class DateParseError(ValueError):
    """A date that cannot be what the source meant; the message says why."""


@lru_cache(maxsize=1 << 16)
def parse_be_datetime(text: str) -> datetime:
    """Parse "15/01/2562 14:05" (day/month/Buddhist year) into an aware Bangkok datetime.

    A year below 2400 is refused: it is a Christian-era year where the source promises
    Buddhist era, and silently accepting it would shift the record by 543 years. Cached: a
    day's export repeats its minutes many times (datetimes are immutable, errors are not cached).
    """
    m = _BE_DATETIME.match(str(text))
    if not m:
        raise DateParseError(f"not a dd/mm/yyyy [hh:mm] date: {text!r}")
    day, month, year = int(m[1]), int(m[2]), int(m[3])
    if year < 2400:
        raise DateParseError(f"year {year} is not Buddhist era (expected 25xx): {text!r}")
    try:
        return datetime(year - BE_OFFSET, month, day, int(m[4] or 0), int(m[5] or 0), int(m[6] or 0), tzinfo=BANGKOK)
    except ValueError as exc:
        raise DateParseError(f"impossible date {text!r}: {exc}") from exc


def from_epoch_millis(value: int | float | str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC).astimezone(BANGKOK)


def aware_utc(value: Any) -> datetime | None:
    """A naive-UTC warehouse timestamp (a string on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def to_bangkok(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise DateParseError(f"naive datetime {value.isoformat()} has no timezone")
    return value.astimezone(BANGKOK)


def thai_date(value: date) -> str:
    """ "30 สิงหาคม 2562": the form Thai government reports use."""
    return f"{value.day} {THAI_MONTHS[value.month - 1]} {value.year + BE_OFFSET}"


def bangkok_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=BANGKOK)
    return start, start + timedelta(days=1)
