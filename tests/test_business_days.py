"""The Bangkok business-day calendar (dim_calendar) and the fiscal-year arithmetic."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from complaints.fiscal import fiscal_quarter, fiscal_year_be, fiscal_year_end, fiscal_year_start
from complaints.indicator.business_calendar import (
    business_days_between,
    calendar_days,
    default_calendar_range,
    end_of_day_bound,
    ensure_calendar,
)
from complaints.warehouse import ensure_schema, make_engine


@pytest.fixture
def engine(warehouse_url):
    engine = make_engine(warehouse_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def calendar_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT day, is_business_day, business_day_seq, month_start, fiscal_year_be, day_start_utc, "
                "day_end_utc, holiday_name_th FROM dim_calendar ORDER BY day"
            )
        )
        return [tuple(str(v) for v in r) for r in rows]


def business(engine, day: date) -> bool:
    with engine.connect() as conn:
        value = conn.execute(text("SELECT is_business_day FROM dim_calendar WHERE day = :d"), {"d": day}).scalar_one()
    return bool(value)


def test_fiscal_year_2562_runs_from_1_october_2018_to_30_september_2019():
    assert fiscal_year_be(date(2018, 10, 1)) == 2562
    assert fiscal_year_be(date(2019, 9, 30)) == 2562
    assert fiscal_year_be(date(2018, 9, 30)) == 2561
    assert (fiscal_year_start(2562), fiscal_year_end(2562)) == (date(2018, 10, 1), date(2019, 9, 30))


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2018, 10, 1), 1),
        (date(2018, 12, 31), 1),
        (date(2019, 1, 1), 2),
        (date(2019, 3, 31), 2),
        (date(2019, 6, 24), 3),
        (date(2019, 7, 1), 4),
        (date(2019, 8, 30), 4),
        (date(2019, 9, 30), 4),
    ],
)
def test_fiscal_quarters_start_in_october(day, quarter):
    assert fiscal_quarter(day) == quarter


def test_the_end_of_a_bangkok_day_is_17_00_utc_of_that_day():
    assert end_of_day_bound(date(2019, 3, 31)) == datetime(2019, 3, 31, 17, 0)


def test_songkran_2019_and_its_substitution_day_are_not_business_days():
    days = {d.day: d for d in calendar_days(date(2019, 4, 10), date(2019, 4, 19))}
    off = [d for d, row in days.items() if not row.is_business_day]
    assert off == [date(2019, 4, 13), date(2019, 4, 14), date(2019, 4, 15), date(2019, 4, 16)]
    assert days[date(2019, 4, 15)].holiday_name_th == "วันสงกรานต์"
    assert days[date(2019, 4, 16)].holiday_name_th.startswith("ชดเชย")
    # Friday 12 April to Wednesday 17 April: one business day.
    assert days[date(2019, 4, 17)].business_day_seq - days[date(2019, 4, 12)].business_day_seq == 1
    # A non-business day carries the number of the last business day before it.
    assert days[date(2019, 4, 16)].business_day_seq == days[date(2019, 4, 12)].business_day_seq


def test_government_holidays_such_as_the_royal_ploughing_day_are_days_off_for_district_offices():
    days = {d.day: d.is_business_day for d in calendar_days(date(2019, 5, 6), date(2019, 5, 10))}
    # Mon 6 May coronation celebrations, Thu 9 May Royal Ploughing Ceremony (government holiday).
    assert days == {
        date(2019, 5, 6): False,
        date(2019, 5, 7): True,
        date(2019, 5, 8): True,
        date(2019, 5, 9): False,
        date(2019, 5, 10): True,
    }


def test_calendar_rows_carry_month_fiscal_year_and_the_utc_bounds_of_the_bangkok_day():
    [row] = calendar_days(date(2019, 10, 1), date(2019, 10, 1))
    assert (row.month_start, row.fiscal_year_be) == (date(2019, 10, 1), 2563)
    assert (row.day_start_utc, row.day_end_utc) == (datetime(2019, 9, 30, 17, 0), datetime(2019, 10, 1, 17, 0))


def test_ensure_calendar_is_idempotent(engine):
    ensure_calendar(engine, date(2018, 10, 1), date(2019, 9, 30))
    first = calendar_rows(engine)
    assert ensure_calendar(engine, date(2018, 10, 1), date(2019, 9, 30)) == 365
    assert calendar_rows(engine) == first
    assert len(first) == 365


def test_extending_the_calendar_fills_gaps_and_keeps_the_business_day_numbers(engine):
    ensure_calendar(engine, date(2019, 4, 1), date(2019, 4, 30))
    before = {r[0]: r[2] for r in calendar_rows(engine)}
    ensure_calendar(engine, date(2018, 10, 1), date(2018, 10, 31))  # earlier, leaving a gap
    after = {r[0]: r[2] for r in calendar_rows(engine)}
    assert len(after) == (date(2019, 4, 30) - date(2018, 10, 1)).days + 1  # gap-free
    assert {d: after[d] for d in before} == before


def test_business_days_between_counts_days_after_the_first_up_to_the_second(engine):
    ensure_calendar(engine, date(2019, 1, 1), date(2019, 12, 31))
    assert business_days_between(engine, date(2019, 4, 12), date(2019, 4, 17)) == 1  # across Songkran
    assert business_days_between(engine, date(2019, 4, 5), date(2019, 4, 9)) == 1  # Chakri substitution Monday
    assert business_days_between(engine, date(2019, 4, 11), date(2019, 4, 18)) == 3
    assert business_days_between(engine, date(2019, 4, 13), date(2019, 4, 17)) == 1  # from a holiday
    assert business_days_between(engine, date(2019, 4, 17), date(2019, 4, 17)) == 0
    assert not business(engine, date(2019, 4, 16))
    with pytest.raises(LookupError):
        business_days_between(engine, date(2019, 4, 12), date(2020, 1, 1))


def test_default_calendar_range_starts_with_the_first_fiscal_year_of_the_channels():
    first, last = default_calendar_range(today=date(2019, 11, 15))
    assert first == date(2018, 10, 1)
    assert last == date(2021, 9, 30)
