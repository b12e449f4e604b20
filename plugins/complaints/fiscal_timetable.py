"""Airflow timetable that runs once per Thai fiscal quarter (registered by complaints_plugin.py).

Each run's data interval is the fiscal year's start to the end of the quarter, because the
indicator is cumulative from 1 October. Quarters of one year share that start, so the run's
logical date is the interval *end* (the day after the quarter), keeping it unique.
A manual run covers the fiscal year up to the day before it was triggered; the quarterly
DAG's ``cutoff`` param picks any other date (the seed's reports were cut off on 24 June
and 30 August).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime, Time, timezone

from complaints.fiscal import fiscal_quarter, fiscal_year_be, fiscal_year_start, previous_quarter_end, quarter_end


class FiscalQuarterRunInfo(DagRunInfo):
    """A run whose logical date is its interval end (see the module docstring)."""

    __slots__ = ()

    @property
    def logical_date(self) -> DateTime | None:
        return self.data_interval.end if self.data_interval else None


class FiscalQuarterTimetable(Timetable):
    periodic = True
    run_ordering = ("data_interval_end", "logical_date")

    def __init__(self, timezone_name: str = "Asia/Bangkok", delay_days: int = 1) -> None:
        self.timezone_name = timezone_name
        # Runs start this many days after the quarter ends, so the last daily runs are in.
        self.delay_days = delay_days

    @property
    def summary(self) -> str:
        return "Thai fiscal quarters (Oct-Dec, Jan-Mar, Apr-Jun, Jul-Sep)"

    @property
    def description(self) -> str:
        return "At the end of each Thai fiscal quarter, cumulative from 1 October"

    def serialize(self) -> dict[str, Any]:
        return {"timezone_name": self.timezone_name, "delay_days": self.delay_days}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> FiscalQuarterTimetable:
        return cls(**data)

    def _midnight(self, day: date) -> DateTime:
        return DateTime.combine(day, Time.min).replace(tzinfo=timezone(self.timezone_name))

    def interval_for_cutoff(self, cutoff: date) -> DataInterval:
        """[1 October of the cut-off's fiscal year, the day after the cut-off), in local midnight."""
        return DataInterval(
            self._midnight(fiscal_year_start(fiscal_year_be(cutoff))), self._midnight(cutoff + timedelta(days=1))
        )

    def _run_for_quarter_end(self, end: date) -> FiscalQuarterRunInfo:
        interval = self.interval_for_cutoff(end)
        return FiscalQuarterRunInfo(run_after=interval.end + timedelta(days=self.delay_days), data_interval=interval)

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        local = run_after.in_timezone(self.timezone_name)
        return self.interval_for_cutoff(local.date() - timedelta(days=1))

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            after = last_automated_data_interval.end.in_timezone(self.timezone_name).date()
        elif restriction.earliest is None:
            return None
        else:
            after = restriction.earliest.in_timezone(self.timezone_name).date()
            if not restriction.catchup:  # only the latest quarter that has ended
                after = max(after, previous_quarter_end(DateTime.now(self.timezone_name).date()))
        # The first quarter end on or after `after`.
        info = self._run_for_quarter_end(quarter_end(fiscal_year_be(after), fiscal_quarter(after)))
        if restriction.latest is not None and info.data_interval.end > restriction.latest:
            return None
        return info
