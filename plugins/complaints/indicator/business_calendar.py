"""The Bangkok business-day calendar (``dim_calendar``).

Business days are Monday to Friday except Thai public holidays and government holidays
as the ``holidays`` package lists them (``country_holidays("TH", categories=(PUBLIC,
GOVERNMENT))``): substitution days ("ชดเชย...") are public holidays there, and the
government category adds the Royal Ploughing Ceremony, a day off for government
offices such as the district offices.

Every age and deadline in business days is a join on this table (see
``include/sql/warehouse/calendar.sql``); Python only computes which day is a business
day and writes the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import holidays
from sqlalchemy import Engine, text

from complaints.config import load_config
from complaints.fiscal import fiscal_year_be, fiscal_year_end, fiscal_year_start
from complaints.paths import read_sql
from complaints.thai_time import BANGKOK
from complaints.warehouse import serialise_schema_changes, statements

# business_day_seq is 0 on the day before the anchor whatever range the table holds, so
# two runs over different ranges (or two concurrent runs) write the same numbers.
SEQ_ANCHOR = date(2000, 1, 1)
HOLIDAY_CATEGORIES = (holidays.PUBLIC, holidays.GOVERNMENT)
HOLIDAY_COUNTRY = "TH"


@cache
def indicator_sql(name: str) -> str:
    return read_sql(f"indicator/{name}.sql")


# -- calendar range ----------------------------------------------------------------------


def default_calendar_range(today: date | None = None) -> tuple[date, date]:
    """From the start of the fiscal year of the earliest channel start date to the end of
    the fiscal year after today's: what the schema step should keep in the calendar."""
    today = today or datetime.now(BANGKOK).date()
    earliest = min(date.fromisoformat(c.start_date) for c in load_config().channels.values())
    return fiscal_year_start(fiscal_year_be(earliest)), fiscal_year_end(fiscal_year_be(today) + 1)


# -- days --------------------------------------------------------------------------------------


def bangkok_midnight_utc(day: date) -> datetime:
    """The instant a Bangkok calendar day starts, as the warehouse stores instants (naive UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=BANGKOK).astimezone(UTC).replace(tzinfo=None)


def end_of_day_bound(day: date) -> datetime:
    """The first instant after a Bangkok day, naive UTC: "as of the end of ``day``" is ``< this``."""
    return bangkok_midnight_utc(day + timedelta(days=1))


@dataclass(frozen=True)
class CalendarDay:
    day: date
    is_business_day: bool
    business_day_seq: int
    month_start: date
    fiscal_year_be: int
    day_start_utc: datetime
    day_end_utc: datetime
    holiday_name_th: str | None

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)


def thai_holidays(first_year: int, last_year: int) -> dict[date, str]:
    """Thai public and government holidays (Thai names) of the years, substitution days included."""
    found = holidays.country_holidays(
        HOLIDAY_COUNTRY, years=range(first_year, last_year + 1), categories=HOLIDAY_CATEGORIES, language="th"
    )
    return dict(found.items())


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def calendar_days(first: date, last: date) -> list[CalendarDay]:
    """The calendar rows of ``[first, last]``, numbered from :data:`SEQ_ANCHOR`."""
    if last < first:
        raise ValueError(f"calendar range ends ({last}) before it starts ({first})")
    begin = min(first, SEQ_ANCHOR)
    end = max(last, SEQ_ANCHOR)
    off = thai_holidays(begin.year, end.year)
    cumulative = 0
    at_anchor_eve = 0
    out: list[CalendarDay] = []
    for day in _days(begin, end):
        if day == SEQ_ANCHOR:
            at_anchor_eve = cumulative
        business = day.weekday() < 5 and day not in off
        cumulative += business
        if day >= first and day <= last:
            out.append(
                CalendarDay(
                    day=day,
                    is_business_day=business,
                    business_day_seq=cumulative,  # re-based on the anchor below
                    month_start=day.replace(day=1),
                    fiscal_year_be=fiscal_year_be(day),
                    day_start_utc=bangkok_midnight_utc(day),
                    day_end_utc=end_of_day_bound(day),
                    holiday_name_th=off.get(day),
                )
            )
    return [CalendarDay(**{**d.row(), "business_day_seq": d.business_day_seq - at_anchor_eve}) for d in out]


def as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def create_calendar_table(engine: Engine) -> None:
    with engine.begin() as conn:
        serialise_schema_changes(conn)  # the daily and quarterly runs may all create it at once
        for statement in statements(read_sql("warehouse/calendar.sql")):
            conn.execute(text(statement))


def ensure_calendar(engine: Engine, start: date, end: date) -> int:
    """Create ``dim_calendar`` if missing and make it hold every day of ``[start, end]``.

    Idempotent. The days already there are rewritten together with the new ones (the table
    always covers one gap-free range, recomputed as a whole in one transaction), so a newer
    ``holidays`` release corrects old rows too. Returns the number of days the table holds.
    """
    create_calendar_table(engine)
    with engine.begin() as conn:
        extent = conn.execute(text(indicator_sql("calendar_extent"))).mappings().one()
        first_held, last_held = as_date(extent["first_day"]), as_date(extent["last_day"])
        first = min(d for d in (start, first_held) if d is not None)
        last = max(d for d in (end, last_held) if d is not None)
        rows = [d.row() for d in calendar_days(first, last)]
        conn.execute(text(indicator_sql("upsert_calendar_day")), rows)
    return len(rows)


def calendar_exists(engine: Engine) -> bool:
    """Whether dim_calendar is there: asked of the catalogue, so a read-only login can ask."""
    from sqlalchemy import inspect

    with engine.connect() as conn:
        return inspect(conn).has_table("dim_calendar")


def calendar_covers(engine: Engine, first: date, last: date) -> bool:
    with engine.connect() as conn:
        days = conn.execute(
            text(indicator_sql("calendar_coverage")), {"first_day": first, "last_day": last}
        ).scalar_one()
    return int(days) == (last - first).days + 1


def business_days_between(engine: Engine, from_day: date, to_day: date) -> int:
    """Business days after ``from_day`` up to and including ``to_day``, from ``dim_calendar``."""
    with engine.connect() as conn:
        value = conn.execute(
            text(indicator_sql("business_days_between")), {"from_day": from_day, "to_day": to_day}
        ).scalar_one_or_none()
    if value is None:
        raise LookupError(f"dim_calendar does not hold both {from_day} and {to_day}; run ensure_calendar")
    return int(value)
