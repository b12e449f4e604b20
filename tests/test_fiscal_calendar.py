"""Thai fiscal years and the fiscal-quarter timetable, across fiscal-year boundaries."""

from __future__ import annotations

from datetime import date

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from complaints.fiscal import fiscal_quarter, fiscal_year_be, fiscal_year_start, previous_quarter_end, quarter_end
from complaints.fiscal_timetable import FiscalQuarterTimetable

BKK = "Asia/Bangkok"


@pytest.mark.parametrize(
    ("day", "fy", "quarter"),
    [
        (date(2018, 10, 1), 2562, 1),
        (date(2018, 12, 31), 2562, 1),
        (date(2019, 1, 1), 2562, 2),
        (date(2019, 6, 24), 2562, 3),
        (date(2019, 8, 30), 2562, 4),
        (date(2019, 9, 30), 2562, 4),
        (date(2019, 10, 1), 2563, 1),
    ],
)
def test_dates_fall_in_the_right_fiscal_year_and_quarter(day, fy, quarter):
    assert (fiscal_year_be(day), fiscal_quarter(day)) == (fy, quarter)


def test_quarter_ends_of_fiscal_year_2562():
    assert [quarter_end(2562, q) for q in (1, 2, 3, 4)] == [
        date(2018, 12, 31),
        date(2019, 3, 31),
        date(2019, 6, 30),
        date(2019, 9, 30),
    ]
    assert fiscal_year_start(2562) == date(2018, 10, 1)
    assert previous_quarter_end(date(2019, 4, 15)) == date(2019, 3, 31)
    assert previous_quarter_end(date(2019, 10, 1)) == date(2019, 9, 30)
    with pytest.raises(ValueError):
        quarter_end(2562, 5)


def scheduled_runs(timetable: FiscalQuarterTimetable, start: pendulum.DateTime, count: int):
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    last, runs = None, []
    for _ in range(count):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        runs.append(info)
        last = info.data_interval
    return runs


def test_scheduled_runs_cover_the_fiscal_year_cumulatively_and_roll_over_on_1_october():
    runs = scheduled_runs(FiscalQuarterTimetable(), pendulum.datetime(2018, 10, 1, tz=BKK), 5)
    intervals = [(r.data_interval.start.date(), r.data_interval.end.date()) for r in runs]
    assert intervals == [
        (date(2018, 10, 1), date(2019, 1, 1)),
        (date(2018, 10, 1), date(2019, 4, 1)),
        (date(2018, 10, 1), date(2019, 7, 1)),
        (date(2018, 10, 1), date(2019, 10, 1)),
        (date(2019, 10, 1), date(2020, 1, 1)),
    ]
    assert all(r.data_interval.start.timezone_name == BKK for r in runs)
    # Logical dates must differ although the interval starts coincide (Airflow keys runs on them).
    assert len({r.logical_date for r in runs}) == 5
    assert runs[0].run_after == pendulum.datetime(2019, 1, 2, tz=BKK)


def test_a_start_date_inside_a_quarter_runs_at_that_quarters_end():
    [first] = scheduled_runs(FiscalQuarterTimetable(), pendulum.datetime(2019, 5, 10, tz=BKK), 1)
    assert (first.data_interval.start.date(), first.data_interval.end.date()) == (date(2018, 10, 1), date(2019, 7, 1))


def test_manual_run_covers_the_fiscal_year_up_to_the_day_before_the_trigger():
    interval = FiscalQuarterTimetable().infer_manual_data_interval(run_after=pendulum.datetime(2019, 8, 31, 9, tz=BKK))
    assert interval == DataInterval(pendulum.datetime(2018, 10, 1, tz=BKK), pendulum.datetime(2019, 8, 31, tz=BKK))


def test_timetable_survives_serialisation():
    timetable = FiscalQuarterTimetable(delay_days=3)
    again = FiscalQuarterTimetable.deserialize(timetable.serialize())
    assert again.delay_days == 3 and again.timezone_name == BKK


def test_a_scheduled_quarterly_run_is_cut_off_on_the_last_day_of_the_quarter():
    from complaints.airflow_tasks import quarterly_cutoff

    runs = scheduled_runs(FiscalQuarterTimetable(), pendulum.datetime(2018, 10, 1, tz=BKK), 4)
    cutoffs = [quarterly_cutoff({"params": {}, "data_interval_end": r.data_interval.end}) for r in runs]
    assert cutoffs == [date(2018, 12, 31), date(2019, 3, 31), date(2019, 6, 30), date(2019, 9, 30)]
    assert quarterly_cutoff({"params": {"cutoff": "2019-06-24"}, "data_interval_end": None}) == date(2019, 6, 24)
